"""chapter5: helpers for the chapter-5 CNN course notebooks."""
__version__ = "0.1.0"
