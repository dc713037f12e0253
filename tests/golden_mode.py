"""Whether the golden tests rewrite their files: only under `make golden`, which sets both
variables, so a stray WEEKLY_UPDATE_GOLDEN in a shell cannot hide a rendering regression."""

from __future__ import annotations

import os

import pytest

# The second variable `make golden` sets; nothing else should.
VIA_MAKE = "WEEKLY_GOLDEN_VIA_MAKE"


def update_golden() -> bool:
    """True under `make golden`; stops the whole run when update mode is asked any other way."""
    if os.environ.get("WEEKLY_UPDATE_GOLDEN") != "1":
        return False
    if os.environ.get(VIA_MAKE) != "1":
        pytest.exit(
            "WEEKLY_UPDATE_GOLDEN=1 is set: golden files are rewritten only by `make golden`"
            " (unset it to run the tests)",
            returncode=2,
        )
    return True
