"""Data files shipped with Regulars (demo name lists, templates, icons).

A package so that an installed copy finds them exactly as a source checkout does; read them
through :func:`app.assets.resource_path`.
"""
