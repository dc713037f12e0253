"""Image sizes for the email: `width`/`height` from the real file (Outlook on Windows shows an
image at its file size without them), scaled down to the content column.

A file named `name@2x.png` is a double-density image and is shown at half its pixel size; a
missing or unreadable image is a compose error naming the section file and line.
"""

from __future__ import annotations

import re
from html import unescape as html_unescape
from pathlib import Path
from urllib.parse import unquote

from PIL import Image, UnidentifiedImageError

from weekly.errors import IssueError
from weekly.render.unsafe import line_in

COLUMN = 544  # px: the 600 px email less the 28 px padding each side of the text
HIGH_DENSITY = "@2x"


_IMG = re.compile(r"<img\b[^>]*>")
_ATTRIBUTE = re.compile(r'([a-zA-Z-]+)="([^"]*)"')


class ImageSizes:
    """Sizes the images of one section (file `path`, in issue folder `folder`)."""

    def __init__(self, folder: Path, path: Path) -> None:
        self.folder = folder
        self.path = path

    def apply(self, html: str, base: str) -> str:
        """`html` (sanitized, so every attribute is double-quoted) with each image under `base`
        (the issue's web address) given its `width`, `height` and a fluid style: 100% of the
        column up to its own width, so it shrinks on a phone without widening the table."""

        def sized(tag: re.Match[str]) -> str:
            attributes = dict(_ATTRIBUTE.findall(tag.group()))
            src = html_unescape(attributes.get("src", ""))
            if not src.startswith(base) or base == "":
                return tag.group()
            width, height = self.size(src.removeprefix(base))
            attributes.update(
                width=str(width),
                height=str(height),
                style=f"width:100%;max-width:{width}px;height:auto",
            )
            return "<img " + " ".join(f'{k}="{v}"' for k, v in attributes.items()) + ">"

        return _IMG.sub(sized, html)

    def size(self, src: str) -> tuple[int, int]:
        """`(width, height)` in CSS pixels of image `src` (relative to the issue folder)."""
        name = unquote(src.split("?", 1)[0].split("#", 1)[0])
        try:
            with Image.open(self.folder / name) as image:
                width, height = image.size
        except FileNotFoundError:
            raise self._error(src, "no such file") from None
        except (OSError, UnidentifiedImageError):
            raise self._error(src, "not a readable image") from None
        if Path(name).stem.endswith(HIGH_DENSITY):
            width, height = width // 2, height // 2
        if width > COLUMN:
            width, height = COLUMN, round(height * COLUMN / width)
        return max(width, 1), max(height, 1)

    def _error(self, src: str, problem: str) -> IssueError:
        return IssueError(self.path, f"image {src}: {problem}", line_in(self.path, src, 0))
