"""Images made in memory for the MMS tests: small ones of each format, one carrying EXIF with a
GPS position, an animation, and photographs' worth of noise (incompressible: the resizing path)."""

from __future__ import annotations

import io
import random

from PIL import Image


def encoded(image: Image.Image, kind: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def small_png(size: tuple[int, int] = (40, 30)) -> bytes:
    return encoded(Image.new("RGB", size, (200, 30, 90)), "PNG")


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF names a camera and a GPS position, turned 90° by its Orientation tag."""
    exif = Image.Exif()
    exif[0x010F] = "Camera Maker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to view
    exif[0x8825] = {1: "N", 2: (37.0, 46.0, 30.0), 3: "W", 4: (122.0, 25.0, 10.0)}  # GPS IFD
    return encoded(Image.new("RGB", (120, 80), (10, 120, 30)), "JPEG", exif=exif.tobytes())


def animated_gif(frames: int = 4, size: tuple[int, int] = (48, 48)) -> bytes:
    images = [Image.new("RGB", size, (n * 50 % 256, 40, 200 - n * 40 % 200)) for n in range(frames)]
    return encoded(images[0], "GIF", save_all=True, append_images=images[1:], duration=120, loop=0)


def noise(size: tuple[int, int], seed: int = 7) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("RGB", size, rng.randbytes(size[0] * size[1] * 3))


def noisy_animation(frames: int, size: tuple[int, int]) -> bytes:
    images = [noise(size, seed=n).convert("P") for n in range(frames)]
    return encoded(images[0], "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
