"""Render: an issue and the settings become one composed email (HTML and text, rendered once,
checked, written to `build/<n>/`), with per-subscriber placeholders left to fill at send."""
