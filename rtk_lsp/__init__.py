"""rtk-lsp: plan the context of a coding task within a token budget."""

__version__ = "0.1.0"
