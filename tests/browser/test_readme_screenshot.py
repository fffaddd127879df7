"""The README's picture of the admin (docs/images/admin-home.png) is taken here: the demo
shop's home screen, served by the app, in chromium with the tests' stand-ins for Shopify's CDN.

`make screenshots` (SCREENSHOTS=update) writes the file; a normal run takes the picture too and
checks the committed one is a PNG of the same size, so the README never points at nothing.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

from shopify_app.services.ops.demo import DEMO_DOMAIN, seed

from .harness import open_screen

PICTURE = Path(__file__).resolve().parents[2] / "docs" / "images" / "admin-home.png"
SIZE = (1200, 900)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_readme_picture_is_the_demo_shops_home(page, app):
    seed()
    page.set_viewport_size({"width": SIZE[0], "height": SIZE[1]})
    open_screen(page, "/", DEMO_DOMAIN)
    taken = page.screenshot(full_page=False)
    assert png_size(taken) == SIZE
    if os.environ.get("SCREENSHOTS") == "update":
        PICTURE.write_bytes(taken)
    assert png_size(PICTURE.read_bytes()) == SIZE
