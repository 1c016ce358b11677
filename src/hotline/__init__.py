"""hotline: software for public customer-service hotlines."""

__version__ = "0.1.0"
