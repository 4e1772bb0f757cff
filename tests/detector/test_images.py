from __future__ import annotations

import io
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageOps, PngImagePlugin

from detector.images import ImageError, decode_image, image_media_type, is_jpeg, shown_size


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


def _pillow(fmt: str, frames: int = 1) -> bytes:
    """A small image in ``fmt`` (an animation of ``frames`` frames when more than one)."""
    images = [Image.new("RGB", (30, 40), (n * 60, 120, 120)) for n in range(frames)]
    out = io.BytesIO()
    images[0].save(out, fmt, save_all=frames > 1, append_images=images[1:])
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_pillow("GIF"), "a GIF image; send the frame as JPEG, PNG, WebP or BMP"),
        (_pillow("TIFF"), "a TIFF image"),
        (_pillow("PNG", frames=3), "an animation of 3 frames; send one frame, or the recording as a clip"),
        (_pillow("WEBP", frames=2), "an animation of 2 frames"),
    ],
    ids=["gif", "tiff", "animated-png", "animated-webp"],
)
def test_other_formats_and_animations_are_refused_not_scored_by_their_first_frame(
    data: bytes, message: str
) -> None:
    with pytest.raises(ImageError, match=message):
        decode_image(data)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "BMP"])
def test_the_media_type_is_read_from_the_bytes(fmt: str) -> None:
    data = _pillow(fmt)
    assert decode_image(data).shape == (40, 30, 3)
    assert image_media_type(data) == f"image/{fmt.lower()}"


def test_a_camera_jpeg_with_a_preview_picture_is_a_jpeg() -> None:
    """Many cameras and phones append a preview (Multi-Picture format, which Pillow calls MPO)."""
    data = _pillow("MPO", frames=2)
    assert is_jpeg(data) and decode_image(data).shape == (40, 30, 3)
    assert image_media_type(data) == "image/jpeg"


def _with_exif_thumbnail(jpeg: bytes) -> bytes:
    """``jpeg`` with an APP1 segment that holds a whole small JPEG (start and end marker), as cameras do."""
    thumbnail = _jpeg(8, 8)
    segment = b"Exif\x00\x00" + thumbnail
    return jpeg[:2] + b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment + jpeg[2:]


def test_a_jpeg_or_png_with_bytes_after_its_end_decodes() -> None:
    """Some phones append a trailer after the end-of-image marker; the image itself is whole."""
    for data in (
        _jpeg() + b"SEFHtrailer\x00\x01" * 40,
        _with_exif_thumbnail(_jpeg()) + b"\x00" * 64,
        _png() + b"\x00" * 32,
    ):
        assert decode_image(data).shape == (40, 30, 3)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


@pytest.mark.parametrize(
    "damage",
    [
        lambda png: png[:33] + _chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"a" * 2_000_000)) + png[33:],
        lambda png: png[:33] + _chunk(b"iCCP", b"p\x00\x00" + zlib.compress(b"a" * 2_000_000)) + png[33:],
        lambda png: png[:8] + _chunk(b"IHDR", png[16:28]) + png[33:],  # 12 bytes where 13 belong
    ],
    ids=["text-chunk-too-big", "colour-profile-too-big", "short-header"],
)
def test_a_png_whose_header_chunks_pillow_refuses_is_an_image_error(damage) -> None:
    with pytest.raises(ImageError, match="not a readable image"):
        decode_image(damage(_png()))


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


def test_a_large_png_is_refused_without_decoding_its_pixels(monkeypatch: pytest.MonkeyPatch) -> None:
    """8000x6000 is below Pillow's own bomb limit: the header and its EXIF are all that may be read."""
    big = bytearray(_png(1, 1))
    big[16:24] = (8000).to_bytes(4, "big") + (6000).to_bytes(4, "big")
    big[29:33] = zlib.crc32(bytes(big[12:29])).to_bytes(4, "big")

    def no_decoding(self: object) -> None:
        raise AssertionError("pixels decoded")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_decoding)
    with pytest.raises(ImageError, match="8000x6000 pixels, above the limit"):
        decode_image(bytes(big))


def _with_orientation(fmt: str, orientation: int) -> bytes:
    """A 48x32 image with coloured corners, saved with EXIF orientation ``orientation``."""
    rgb = np.full((32, 48, 3), 128, np.uint8)
    rgb[:12, :16], rgb[:12, -16:], rgb[-12:, :16] = (255, 0, 0), (0, 255, 0), (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, fmt, exif=exif.tobytes(), **({"quality": 100} if fmt == "JPEG" else {}))
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_images_are_turned_as_their_exif_orientation_says(fmt: str, orientation: int, tmp_path: Path) -> None:
    """Phones store a portrait photo as landscape pixels and an orientation; Pillow shows it so too."""
    data = _with_orientation(fmt, orientation)
    shown = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))[:, :, ::-1]
    image = decode_image(data)
    assert image.shape == shown.shape and image.flags.c_contiguous
    assert np.abs(image.astype(int) - shown).mean() < 2
    (tmp_path / "frame").write_bytes(data)
    assert shown_size(tmp_path / "frame") == (shown.shape[1], shown.shape[0])


@pytest.mark.parametrize("orientation", [0, 9, 600])
def test_an_orientation_outside_exif_leaves_the_image_as_stored(orientation: int) -> None:
    assert decode_image(_with_orientation("JPEG", orientation)).shape == (32, 48, 3)
