"""Face blurring for the evidence pages: one pose model per process, loaded on first use."""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np

from detector.faces import FaceBlurrer

JPEG_QUALITY = 90


@cache
def _blurrer() -> FaceBlurrer:
    return FaceBlurrer()


def blurred_jpeg(image: np.ndarray) -> bytes:
    """``image`` with faces pixelated, as JPEG bytes."""
    ok, encoded = cv2.imencode(".jpg", _blurrer().blur(image), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise ValueError("could not encode the blurred frame as JPEG")
    return encoded.tobytes()
