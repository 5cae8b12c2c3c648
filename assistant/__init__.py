"""The meeting assistant: answers questions about a document corpus with checked citations."""

__version__ = "0.1.0"
