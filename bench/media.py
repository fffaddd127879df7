"""What checking and re-encoding an MMS image costs (services/media/images.py `prepare`).

    .venv/bin/python bench/media.py [--runs 3]

Prints, for a few images made in memory (tiny PNG, a JPEG with EXIF/GPS, photographs' worth of
incompressible noise as JPEG and PNG, an animated GIF too large to keep its frames), the bytes
in and out, the dimensions kept, and the best of `--runs` timings. Noise is the worst case:
real photos compress far better, so they fit 1 MB with fewer passes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shopify_app.services.media import images
from tests.images import encoded, jpeg_with_gps, noise, noisy_animation, small_png


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--runs", type=int, default=3, help="timings per image; the best is printed")
    args = parser.parse_args(argv)
    cases = {
        "png 40x30": small_png(),
        "jpeg 120x80 with EXIF/GPS": jpeg_with_gps(),
        "noise jpeg 1800x1200 q90": encoded(noise((1800, 1200)), "JPEG", quality=90),
        "noise png 1200x800": encoded(noise((1200, 800)), "PNG"),
        "noise gif 12 frames 420x420": noisy_animation(12, (420, 420)),
    }
    for name, raw in cases.items():
        timings = []
        for _ in range(max(1, args.runs)):
            started = time.perf_counter()
            prepared = images.prepare(raw)
            timings.append(time.perf_counter() - started)
        print(
            f"{name}: {len(raw) / 1024:.0f} KB -> {len(prepared.data) / 1024:.0f} KB, "
            f"{prepared.width}x{prepared.height}, best {min(timings) * 1000:.0f} ms"
        )


if __name__ == "__main__":
    main()
