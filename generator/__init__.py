"""Agent Engine promotion: config model, readiness rules, docs generator and mkdocs plugin."""

__version__ = "0.3.0"
