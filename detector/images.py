"""Decode still images safely: size checked before pixels are decoded, clear errors for bad files,
pixels turned the way the image is meant to be shown."""

from __future__ import annotations

import io
import re
import struct
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 40_000_000  # a 4K frame is 8.3 MP; anything far above is a mistake or a decompression bomb
# The still formats a frame may come in, by Pillow's name: others (GIF, TIFF, HEIC ...) are refused, so that
# what is stored and shown to reviewers is a format every browser displays.
# MPO is a JPEG with a Multi-Picture extension (a preview many cameras and phones append): its first
# picture is the photo, and every JPEG reader shows it.
_MEDIA_TYPES = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "BMP": "image/bmp",
}


class ImageError(ValueError):
    """Bytes that are not a usable image; the message says what to send instead."""


@dataclass(frozen=True)
class Orientation:
    """How stored pixels are turned for display, as a phone's EXIF orientation or a video's display
    matrix says: swap the axes (a quarter turn, with a mirror), then mirror left-right, then top-bottom."""

    swap_axes: bool = False
    mirror_x: bool = False
    mirror_y: bool = False

    def apply(self, image: np.ndarray) -> np.ndarray:
        if self.swap_axes:
            image = image.swapaxes(0, 1)
        if self.mirror_x:
            image = image[:, ::-1]
        if self.mirror_y:
            image = image[::-1]
        return np.ascontiguousarray(image)

    def size(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` of the shown image, from the stored one."""
        return (height, width) if self.swap_axes else (width, height)


UPRIGHT = Orientation()
# The EXIF Orientation tag's values (TIFF 6.0): 6 is a phone held upright (turn 90 degrees clockwise
# to show), 8 held the other way, 3 upside down, 2, 4, 5 and 7 their mirror images.
_EXIF_ORIENTATION_TAG = 0x0112
_EXIF_ORIENTATIONS = {
    1: UPRIGHT,
    2: Orientation(mirror_x=True),
    3: Orientation(mirror_x=True, mirror_y=True),
    4: Orientation(mirror_y=True),
    5: Orientation(swap_axes=True),
    6: Orientation(swap_axes=True, mirror_x=True),
    7: Orientation(swap_axes=True, mirror_x=True, mirror_y=True),
    8: Orientation(swap_axes=True, mirror_y=True),
}


def decode_image(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode JPEG/PNG/WebP/BMP bytes to BGR uint8, turned as their EXIF orientation says (a phone photo
    taken upright comes out upright); refuse empty, corrupt, truncated and oversized images."""
    if not data:
        raise ImageError("the image is empty (0 bytes); send a JPEG or PNG frame")
    width, height, orientation = _header(data, max_pixels)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if image is None or image.shape[:2] != (height, width):
        raise ImageError("the image could not be decoded (corrupt or truncated); export the frame again")
    if not _complete(data):
        raise ImageError("the image is truncated (its end is missing); upload the whole file")
    return orientation.apply(image)


def image_media_type(data: bytes) -> str:
    """The media type of bytes ``decode_image`` accepted, read from their own header: what is stored and
    served, whatever type the sender declared."""
    with Image.open(io.BytesIO(data)) as probe:
        return _MEDIA_TYPES[probe.format]


def shown_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image file as ``decode_image`` gives it, read from its header."""
    width, height, orientation = _header(path.read_bytes(), MAX_PIXELS)
    return orientation.size(width, height)


def _header(data: bytes, max_pixels: int) -> tuple[int, int, Orientation]:
    """The stored width and height, and the orientation to show the pixels in, without decoding them."""
    try:
        with Image.open(io.BytesIO(data)) as probe:
            width, height = probe.size
            exif = probe.info.get("exif")  # read with the header (JPEG, WebP; PNG's eXIf before its pixels)
            kind, frames = probe.format, getattr(probe, "n_frames", 1)
    except Image.DecompressionBombError as exc:
        raise ImageError(
            f"the image declares too many pixels, above the limit of {max_pixels:,}; send a downscaled frame"
        ) from exc
    # ImportError: ultralytics wraps Image.open to load an optional HEIF plugin when Pillow cannot
    # identify a file; without that plugin installed, "not an image" surfaces as an ImportError.
    # ValueError, SyntaxError, EOFError, struct.error: Pillow's own complaints about a damaged header
    # (a short IHDR chunk, a text or colour-profile chunk that decompresses too far).
    except (
        UnidentifiedImageError,
        OSError,
        ImportError,
        ValueError,
        SyntaxError,
        EOFError,
        struct.error,
    ) as exc:
        raise ImageError("the file is not a readable image; send a JPEG or PNG frame") from exc
    if kind not in _MEDIA_TYPES:
        raise ImageError(f"the file is a {kind} image; send the frame as JPEG, PNG, WebP or BMP")
    if frames > 1 and kind != "MPO":  # only the first would be scored: the others dropped without a word
        raise ImageError(
            f"the image is an animation of {frames} frames; send one frame, or the recording as a clip"
        )
    if width * height > max_pixels:
        raise ImageError(
            f"the image is {width}x{height} pixels, above the limit of {max_pixels:,}; "
            "send a downscaled frame"
        )
    return width, height, _exif_orientation(exif)


def _exif_orientation(exif: bytes | None) -> Orientation:
    """A value outside 1-8, or EXIF that cannot be parsed, leaves the image as stored (as browsers do)."""
    if not exif:
        return UPRIGHT
    tags = Image.Exif()
    try:
        tags.load(exif)
        value = tags.get(_EXIF_ORIENTATION_TAG, 1)
    except (SyntaxError, ValueError, OSError, struct.error):
        return UPRIGHT
    return _EXIF_ORIENTATIONS.get(value, UPRIGHT) if isinstance(value, int) else UPRIGHT


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
        return _png_ends(data)
    return True


def _png_ends(data: bytes) -> bool:
    """Whether the PNG's ``IEND`` chunk is there, chunk by chunk (bytes after it are fine)."""
    at = 8
    while at + 8 <= len(data):
        length, kind = int.from_bytes(data[at : at + 4], "big"), data[at + 4 : at + 8]
        if kind == b"IEND":
            return True
        at += 12 + length  # length, type, data, CRC
    return False


def read_image(path: Path, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    try:
        return decode_image(path.read_bytes(), max_pixels)
    except ImageError as exc:
        raise ImageError(f"{path}: {exc}") from exc
