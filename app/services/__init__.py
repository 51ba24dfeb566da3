"""Use cases, one module per capability. Qt-free: the CLI, tests and benchmarks run headless."""
