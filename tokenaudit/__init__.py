"""tokenaudit: find AI token usage that is not followed by merged code."""

__version__ = "0.1.0"
