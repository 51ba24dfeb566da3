"""Qt user interface. Calls services; never opens a database session itself."""
