"""Face blurring: faces found by the pose model are pixelated, the rest of the frame is left alone."""

from __future__ import annotations

import numpy as np
import pytest

from detector.faces import FaceBlurrer


@pytest.fixture(scope="module")
def blurrer() -> FaceBlurrer:
    return FaceBlurrer()


def test_a_person_gets_a_face_box_that_is_pixelated(blurrer: FaceBlurrer, frames: list) -> None:
    image = frames[0][0]
    (x0, y0, x1, y1), *_ = blurrer.face_boxes(image)
    assert 0 <= x0 < x1 <= image.shape[1] and 0 <= y0 < y1 <= image.shape[0]
    blurred = blurrer.blur(image)
    assert not np.array_equal(blurred[y0:y1, x0:x1], image[y0:y1, x0:x1])
    outside = np.ones(image.shape[:2], bool)
    for bx0, by0, bx1, by1 in blurrer.face_boxes(image):
        outside[by0:by1, bx0:bx1] = False
    assert np.array_equal(blurred[outside], image[outside])


def test_a_frame_without_people_is_unchanged(blurrer: FaceBlurrer) -> None:
    empty = np.full((320, 180, 3), 90, np.uint8)
    assert blurrer.face_boxes(empty) == [] and np.array_equal(blurrer.blur(empty), empty)
