"""Allow `python -m weekly`."""

from __future__ import annotations

from weekly.cli import main

main()
