"""An OCPI node: library (``get_application``) and ready-to-run CPO/eMSP."""

from .app import get_application

__version__ = "0.1.0"
__all__ = ["__version__", "get_application"]
