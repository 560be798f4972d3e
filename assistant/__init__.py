"""Plan-knowledge assistant for the Jiaxing 14th Five-Year women's and children's plans."""

from assistant.config import Settings
from assistant.core import Assistant
from assistant.types import Answer, Citation, Hit

__all__ = ["Assistant", "Answer", "Citation", "Hit", "Settings"]
__version__ = "0.1.0"
