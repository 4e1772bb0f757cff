"""Decode still images safely: size checked before pixels are decoded, clear errors for bad files."""

from __future__ import annotations

import io
import re
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # a 4K frame is 8.3 MP; anything far above is a mistake or a decompression bomb


class ImageError(ValueError):
    """Bytes that are not a usable image; the message says what to send instead."""


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode JPEG/PNG/WebP/BMP bytes to BGR uint8; refuse empty, corrupt, truncated and oversized images."""
    if not data:
        raise ImageError("the image is empty (0 bytes); send a JPEG or PNG frame")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
    except Image.DecompressionBombError as exc:
        raise ImageError(
            f"the image declares too many pixels, above the limit of {max_pixels:,}; send a downscaled frame"
        ) from exc
    # ImportError: ultralytics wraps Image.open to load an optional HEIF plugin when Pillow cannot
    # identify a file; without that plugin installed, "not an image" surfaces as an ImportError.
    except (UnidentifiedImageError, OSError, ImportError) as exc:
        raise ImageError("the file is not a readable image; send a JPEG or PNG frame") from exc
    if width * height > max_pixels:
        raise ImageError(
            f"the image is {width}x{height} pixels, above the limit of {max_pixels:,}; "
            "send a downscaled frame"
        )
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.shape[:2] != (height, width):
        raise ImageError("the image could not be decoded (corrupt or truncated); export the frame again")
    if not _complete(data):
        raise ImageError("the image is truncated (its end is missing); upload the whole file")
    return image


def is_jpeg(data: bytes) -> bool:
    """Whether ``data`` starts like a JPEG file (whatever name or content type it came with)."""
    return data[:2] == b"\xff\xd8"


# A JPEG marker: 0xFF then a code that is not stuffing (0x00), fill (0xFF) or a restart (0xD0-0xD7).
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xff\xd0-\xd7]")
_JPEG_EOI, _JPEG_TEM = 0xD9, 0x01


def _jpeg_ends(data: bytes) -> bool:
    """Whether the JPEG's end-of-image marker is there: segments are skipped by their length (an EXIF
    thumbnail's own end marker does not count), scan data up to the next marker. Bytes after the end
    (trailers some phones append) are fine."""
    at = 2  # after SOI
    while match := _JPEG_MARKER.search(data, at):
        code = data[match.start() + 1]
        if code == _JPEG_EOI:
            return True
        if code == _JPEG_TEM:
            at = match.end()
            continue
        if match.end() + 2 > len(data):
            return False
        at = match.end() + int.from_bytes(data[match.end() : match.end() + 2], "big")
    return False


def _complete(data: bytes) -> bool:
    """JPEG and PNG carry an end marker; OpenCV fills a cut-off image with grey instead of failing."""
    if is_jpeg(data):
        return _jpeg_ends(data)
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return b"IEND" in data[-16:]
    return True


def read_image(path: Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    try:
        return decode_image(path.read_bytes(), max_pixels)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from exc
