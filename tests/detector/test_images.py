from __future__ import annotations

import zlib

import cv2
import numpy as np
import pytest

from detector.images import ImageError, decode_image


def _jpeg(h: int = 40, w: int = 30) -> bytes:
    return cv2.imencode(".jpg", np.full((h, w, 3), 120, np.uint8))[1].tobytes()


def _png(h: int = 40, w: int = 30) -> bytes:
    return cv2.imencode(".png", np.full((h, w, 3), 120, np.uint8))[1].tobytes()


def test_good_images_decode_to_bgr() -> None:
    for data in (_jpeg(), _png()):
        image = decode_image(data)
        assert image.shape == (40, 30, 3) and image.dtype == np.uint8


@pytest.mark.parametrize(
    ("data", "max_pixels", "message"),
    [
        (b"", 10**6, "empty"),
        (b"GIF89a not really" * 3, 10**6, "not a readable image"),
        (b"%PDF-1.7 hello", 10**6, "not a readable image"),
        (_jpeg()[: len(_jpeg()) // 2], 10**6, "truncated|could not be decoded|not a readable"),
        (_png()[:-20], 10**6, "truncated|could not be decoded"),
        (_jpeg(200, 300), 10_000, "above the limit"),
    ],
    ids=["empty", "not-image", "pdf", "truncated-jpeg", "truncated-png", "too-many-pixels"],
)
def test_bad_images_are_refused_with_advice(data: bytes, max_pixels: int, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        decode_image(data, max_pixels)


def _with_exif_thumbnail(jpeg: bytes) -> bytes:
    """``jpeg`` with an APP1 segment that holds a whole small JPEG (start and end marker), as cameras do."""
    thumbnail = _jpeg(8, 8)
    segment = b"Exif\x00\x00" + thumbnail
    return jpeg[:2] + b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment + jpeg[2:]


def test_a_jpeg_with_bytes_after_its_end_decodes() -> None:
    """Some phones append a trailer after the end-of-image marker; the image itself is whole."""
    for data in (_jpeg() + b"SEFHtrailer\x00\x01" * 40, _with_exif_thumbnail(_jpeg()) + b"\x00" * 64):
        assert decode_image(data).shape == (40, 30, 3)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.99])
def test_a_cut_jpeg_is_truncated_even_with_a_thumbnail_end_marker_inside(keep: float) -> None:
    whole = _with_exif_thumbnail(_jpeg(120, 90))
    with pytest.raises(ImageError, match=r"truncated|could not be decoded|not a readable"):
        decode_image(whole[: int(len(whole) * keep)])


def test_decompression_bomb_is_refused_before_decoding() -> None:
    """A tiny PNG declaring 50000x50000 pixels must be refused from its header alone."""
    small = bytearray(_png(1, 1))
    small[16:24] = (50000).to_bytes(4, "big") + (50000).to_bytes(4, "big")  # IHDR width and height
    small[29:33] = zlib.crc32(bytes(small[12:29])).to_bytes(4, "big")  # keep the chunk's CRC valid
    with pytest.raises(ImageError, match="above the limit"):
        decode_image(bytes(small))
