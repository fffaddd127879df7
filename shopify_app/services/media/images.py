"""What an uploaded image must be before a provider may fetch it: a JPEG, PNG or GIF by its
bytes (never its name or the upload's Content-Type), decoded in full, metadata gone (EXIF with
its GPS position, ICC profiles, text chunks, comments), at most `MAX_BYTES` once re-encoded.

Every accepted image is re-encoded from its decoded pixels, so nothing of the uploaded file
survives but the picture: trailing bytes of a polyglot (an image that is also HTML or a ZIP),
metadata, malformed chunks a decoder tolerated. Then, while it is over `MAX_BYTES`, it is made
smaller: a JPEG first loses quality, then every format loses a quarter of its width and
height per step, down to `MIN_SIDE` pixels; an image that still does not fit is refused.
An animated GIF keeps its animation when the animation fits; otherwise it is sent as its first
frame (made smaller like any still image), and says so (`animated` false, `frames_dropped`).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from ...errors import ValidationFailed

MAX_BYTES = 1024 * 1024  # what carriers take for an MMS image (the rule)
UPLOAD_MAX_BYTES = 5 * 1024 * 1024  # what the upload may be before re-encoding
MAX_PIXELS = 40_000_000  # beyond this a decode is a memory bomb, not a photo
MAX_SIDE = 2048  # larger images are scaled down first: no phone shows more
MIN_SIDE = 160  # smaller than this an image says nothing; refused instead
MAX_FRAMES = 300
JPEG_QUALITIES = (85, 75, 65)

# The formats MMS carries, by what the bytes start with; name and Content-Type are never asked.
FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "GIF": ("image/gif", "gif")}
MAGIC = {"JPEG": (b"\xff\xd8\xff",), "PNG": (b"\x89PNG\r\n\x1a\n",), "GIF": (b"GIF87a", b"GIF89a")}
EXTENSIONS = {extension: content_type for content_type, extension in FORMATS.values()}


@dataclass(frozen=True)
class PreparedImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int
    animated: bool
    frames_dropped: bool  # an animation too large for MMS kept only its first frame


def refused(code: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, details={"fields": {"file": [message]}})


def prepare(raw: bytes) -> PreparedImage:
    """`raw` checked and re-encoded for MMS; `ValidationFailed` (422) with a code saying why not."""
    if not raw:
        raise refused("image_empty", "The file is empty.")
    image = _opened(raw)
    kind = str(image.format)
    if getattr(image, "n_frames", 1) > 1 and kind == "GIF":
        encoded = _animation(image)
        if encoded is not None:
            return PreparedImage(encoded, *FORMATS[kind], *image.size, animated=True, frames_dropped=False)
        image.seek(0)
        still = _still(image, kind)
        data, size = _fitted(still, kind)
        return PreparedImage(data, *FORMATS[kind], *size, animated=False, frames_dropped=True)
    data, size = _fitted(_still(image, kind), kind)
    return PreparedImage(data, *FORMATS[kind], *size, animated=False, frames_dropped=False)


def _opened(raw: bytes) -> Image.Image:
    """The image `raw` holds, verified and then opened again to decode (verify spends it)."""
    unsupported = refused("unsupported_image_type", "Upload a JPEG, PNG or GIF image.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(raw), formats=tuple(FORMATS))
            kind = probe.format
            if kind not in FORMATS or not raw.startswith(MAGIC[kind]):
                raise unsupported
            _check_dimensions(*probe.size)
            probe.verify()
            image = Image.open(io.BytesIO(raw), formats=(kind,))
            image.load()
    except ValidationFailed:
        raise
    except UnidentifiedImageError:
        raise unsupported from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise _too_many_pixels() from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise refused("image_corrupt", "This image is damaged or truncated: export it again.") from None
    return image


def _check_dimensions(width: int, height: int) -> None:
    if width < 1 or height < 1 or width * height > MAX_PIXELS:
        raise _too_many_pixels()


def _too_many_pixels() -> ValidationFailed:
    return refused("image_dimensions_too_large", f"Images may have at most {MAX_PIXELS // 1_000_000} megapixels.")


def _still(image: Image.Image, kind: str) -> Image.Image:
    """The current frame as a fresh image: upright (EXIF orientation applied), no metadata."""
    upright = ImageOps.exif_transpose(image) if kind == "JPEG" else image
    if kind == "JPEG":
        frame = upright.convert("RGB")
    elif kind == "GIF":
        frame = upright.convert("RGBA") if upright.mode in ("P", "L", "LA", "PA") else upright.convert("RGB")
    else:
        frame = upright.convert("RGBA" if "A" in upright.mode or "transparency" in upright.info else "RGB")
    frame = frame.copy()
    frame.info = {}  # no EXIF, ICC, text chunks or comments reach the encoder
    if max(frame.size) > MAX_SIDE:
        frame.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    return frame


def _fitted(frame: Image.Image, kind: str) -> tuple[bytes, tuple[int, int]]:
    """`frame` encoded as `kind`, made smaller until it fits `MAX_BYTES` (see the module docstring)."""
    while True:
        for quality in JPEG_QUALITIES if kind == "JPEG" else (None,):
            data = _encode(frame, kind, quality)
            if len(data) <= MAX_BYTES:
                return data, frame.size
        width, height = frame.size
        smaller = (int(width * 0.75), int(height * 0.75))
        if min(smaller) < MIN_SIDE:
            raise refused(
                "image_too_large", "This image cannot be made small enough for MMS (1 MB): use a simpler picture."
            )
        frame = frame.resize(smaller, Image.Resampling.LANCZOS)


def _encode(frame: Image.Image, kind: str, quality: int | None) -> bytes:
    out = io.BytesIO()
    if kind == "JPEG":
        frame.save(out, "JPEG", quality=quality, optimize=True)
    elif kind == "PNG":
        frame.save(out, "PNG", optimize=True)
    else:
        frame.save(out, "GIF", optimize=True)
    return out.getvalue()


def _animation(image: Image.Image) -> bytes | None:
    """The animated GIF re-encoded from its frames (timing and loop kept), or None when it is
    over `MAX_BYTES` or has too many frames (the caller keeps the first frame)."""
    if getattr(image, "n_frames", 1) > MAX_FRAMES or max(image.size) > MAX_SIDE:
        return None
    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        durations.append(int(frame.info.get("duration", 100)))
        clean = frame.convert("RGBA").copy()
        clean.info = {}
        frames.append(clean)
    out = io.BytesIO()
    frames[0].save(
        out,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=int(image.info.get("loop", 0)),
        disposal=2,
        optimize=False,
    )
    data = out.getvalue()
    return data if len(data) <= MAX_BYTES else None
