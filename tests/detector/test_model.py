from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from api.cli import main
from detector.detections import Detections
from detector.model import DEFAULT_WEIGHTS, Detector, InvalidImageError, ModelNotFoundError
from detector.taxonomy import load_taxonomy
from tests.detector.agreement import assert_same_detections


def test_shipped_model_speaks_the_taxonomy(shipped_detector: Detector) -> None:
    assert shipped_detector.class_names == load_taxonomy().names
    assert shipped_detector.version.startswith("seragam-n@")
    assert set(shipped_detector.thresholds) == set(load_taxonomy().names)


def test_detect_returns_typed_detections_on_a_rendered_frame(
    shipped_detector: Detector, frames: list
) -> None:
    image, _ = frames[0]
    dets = shipped_detector.detect(image)
    assert isinstance(dets, Detections)
    assert dets.image_size == (image.shape[1], image.shape[0])
    assert dets.boxes.shape == (len(dets), 4) and dets.boxes.dtype == np.float32
    assert (dets.boxes[:, [0, 2]] <= image.shape[1] + 1).all() and (
        dets.boxes[:, [1, 3]] <= image.shape[0] + 1
    ).all()
    limits = np.array([shipped_detector.thresholds[n] for n in dets.labels])
    assert (dets.scores >= limits).all()


def test_shipped_model_finds_attire_on_rendered_uniform_frames(
    shipped_detector: Detector, frames: list
) -> None:
    """Frames with a labelled official garment: the model must find official attire on most of them."""
    official = load_taxonomy().official_names
    uniformed = [img for img, labels in frames if any(b.class_name in official for b in labels)]
    assert uniformed, "fixture frames should include uniformed people"
    found = [shipped_detector.detect(img).best_score(official) > 0 for img in uniformed]
    assert sum(found) >= len(found) / 2


def test_thresholds_filter_detections(shipped_detector: Detector, frames: list) -> None:
    strict = Detector(DEFAULT_WEIGHTS, thresholds=dict.fromkeys(load_taxonomy().names, 0.9))
    for image, _ in frames:
        kept, loose = strict.detect(image), shipped_detector.detect(image)
        assert (kept.scores >= 0.9).all() and len(kept) <= len(loose)


@pytest.mark.parametrize("value", [-0.1, 1.01])
def test_thresholds_outside_zero_one_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        Detector(DEFAULT_WEIGHTS, thresholds={"pdh_khaki": value})


@pytest.mark.parametrize(
    ("sidecar", "message"),
    [
        ("thresholds: {field_unifrom: 0.9}", "unknown class threshold settings \\['field_unifrom'\\]"),
        ("thresholds: {field_uniform: '0.9'}", "field_uniform='0.9' must be a number"),
        ("thresholds: {field_uniform: .nan}", "must be a number"),
        ("imgsz: 416.5", "imgsz=416.5 must be a whole number"),
        ("imgsize: 416", "unknown model settings"),
    ],
)
def test_a_model_settings_file_with_a_misspelt_class_or_a_bad_number_is_refused(
    tmp_path: Path, sidecar: str, message: str
) -> None:
    weights = tmp_path / "seragam-n.pt"
    weights.write_bytes(DEFAULT_WEIGHTS.read_bytes())
    weights.with_suffix(".yaml").write_text(sidecar)
    with pytest.raises(ValueError, match=message):
        Detector(weights, lazy=True)


def test_a_threshold_for_a_class_the_model_has_not_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown class threshold"):
        Detector(DEFAULT_WEIGHTS, thresholds={"pdh_kaki": 0.5}, lazy=True)


def test_batch_matches_single_calls(shipped_detector: Detector, frames: list) -> None:
    """Also when the batch mixes frame sizes (a recording whose resolution changes)."""
    images = [img for img, _ in frames[:3]]
    images[1] = np.ascontiguousarray(images[1][: images[1].shape[0] // 2])
    batch = shipped_detector.detect_batch(images)
    for image, got in zip(images, batch, strict=True):
        single = shipped_detector.detect(image)
        assert got.labels == single.labels
        np.testing.assert_allclose(got.scores, single.scores, atol=1e-3)


def test_concurrent_callers_each_get_their_own_answer(shipped_detector: Detector, frames: list) -> None:
    images = [img for img, _ in frames]
    expected = [shipped_detector.detect(img) for img in images]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(shipped_detector.detect, images * 3))
    for i, dets in enumerate(got):
        want = expected[i % len(images)]
        assert dets.image_size == want.image_size and dets.labels == want.labels


def test_onnx_export_agrees_with_pt(shipped_detector: Detector, frames: list) -> None:
    """The export's dynamic input is letterboxed as the .pt's is, so it finds the same boxes with the
    same scores (a fixed square input scored the same frames up to 0.16 apart)."""
    assert Detector(DEFAULT_WEIGHTS.with_suffix(".onnx")).imgsz == shipped_detector.imgsz
    onnx = Detector.raw(DEFAULT_WEIGHTS.with_suffix(".onnx"))
    assert_same_detections(Detector.raw(DEFAULT_WEIGHTS), onnx, frames, atol=1e-4, at_least=len(frames))


def test_export_makes_an_onnx_that_scores_as_the_pt(tmp_path: Path, frames: list) -> None:
    weights = tmp_path / DEFAULT_WEIGHTS.name
    for source in (DEFAULT_WEIGHTS, DEFAULT_WEIGHTS.with_suffix(".yaml")):
        shutil.copy(source, tmp_path)
    assert main(["export", "--model", str(weights)]) == 0
    onnx = Detector.raw(weights.with_suffix(".onnx"))
    assert_same_detections(Detector.raw(weights), onnx, frames[:4], atol=1e-4, at_least=4)


@pytest.mark.parametrize(
    "image",
    [np.zeros((10, 10), np.uint8), np.zeros((10, 10, 3), np.float32), np.zeros((10, 10, 4), np.uint8)],
    ids=["gray", "float", "rgba"],
)
def test_wrong_arrays_are_refused(shipped_detector: Detector, image: np.ndarray) -> None:
    with pytest.raises(InvalidImageError, match="BGR uint8"):
        shipped_detector.detect(image)


def test_missing_weights_say_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"\.pt or \.onnx"):
        Detector(tmp_path / "nope.pt")


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("garbage.pt", bytes(range(256)) * 4, "not a loadable checkpoint"),
        ("notes.pt", b"text\n", "not a loadable checkpoint"),
        ("garbage.onnx", bytes(range(256)) * 4, "not a loadable ONNX model"),
        ("model.txt", b"text\n", "a .txt file"),
    ],
)
def test_an_unusable_model_file_is_a_value_error_naming_it(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    """A corrupt file or another format: one clear error, not ultralytics' TypeError with a traceback."""
    weights = tmp_path / name
    weights.write_bytes(content)
    with pytest.raises(
        ValueError, match=rf"^{re.escape(str(weights))} is not a usable .*\(.*{reason}.*give a \.pt"
    ):
        Detector(weights)
