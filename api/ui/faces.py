"""Face blurring for the evidence pages: one pose model per process, loaded on first use."""

from __future__ import annotations

from functools import cache

import numpy as np

from detector.faces import FaceBlurrer


@cache
def _blurrer() -> FaceBlurrer:
    return FaceBlurrer()


def blur_faces(image: np.ndarray) -> np.ndarray:
    """``image`` with faces pixelated."""
    return _blurrer().blur(image)
