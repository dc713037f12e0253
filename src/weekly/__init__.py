"""weekly: write, compose, send and archive a numbered weekly newsletter."""

from __future__ import annotations

__version__ = "0.1.0"
