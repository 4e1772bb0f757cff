from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from api.cli import main
from datasets.clips import Segment, write_livestream_clip
from datasets.people import PhotoPeople
from datasets.synth import SynthConfig, render_frame


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_detect_image_prints_json_and_saves_annotated(frames: list, tmp_path: Path, capsys) -> None:
    image = tmp_path / "frame.jpg"
    cv2.imwrite(str(image), frames[0][0])
    assert main(["detect", str(image), "--save-dir", str(tmp_path / "out")]) == 0
    (record,) = _lines(capsys.readouterr().out)
    assert record["file"] == str(image) and record["image_size"] == [
        frames[0][0].shape[1],
        frames[0][0].shape[0],
    ]
    assert all({"class", "score", "box"} <= set(d) for d in record["detections"])
    assert (tmp_path / "out" / "frame.jpg").exists()


def test_detect_video_reports_every_sampled_second_and_episodes(
    bundled_people: list[PhotoPeople], tmp_path: Path, capsys
) -> None:
    clip = tmp_path / "live.mp4"
    person = bundled_people[-1]
    spans = write_livestream_clip(
        clip, [Segment(person, "original", 3), Segment(person, "pdh_khaki", 5)], size=(180, 320), fps=10
    )
    assert [(s.start_s, s.end_s) for s in spans] == [(3.0, 8.0)]
    assert main(["detect", str(clip), "--sample", "interval", "--interval", "1"]) == 0
    records = _lines(capsys.readouterr().out)
    frames, summary = records[:-1], records[-1]
    assert [round(r["time_s"]) for r in frames] == list(range(8))
    assert "episodes" in summary and summary["model"].startswith("seragam-n@")


def test_data_stats_prints_a_table(tiny_dataset: Path, capsys) -> None:
    assert main(["data", "stats", str(tiny_dataset)]) == 0
    table = capsys.readouterr().out
    assert "images" in table and "pdh_khaki" in table


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["detect", "missing.jpg"], "No such file"),
        (["detect", "README.md"], "not a readable image"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(argv: list[str], message: str, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("seragam: error:") and message in err


def test_detect_with_attire_judges_each_person(
    bundled_people: list[PhotoPeople], tmp_path: Path, capsys
) -> None:
    """The shipped two-stage classifier, for real: the demo's person in PDH khaki is official attire,
    the same person in their own clothes is not."""
    paths = []
    for outfit in ("pdh_khaki", "original"):
        frame, _ = render_frame(
            bundled_people[-1], np.random.default_rng(4), SynthConfig(), outfit=outfit, size=(720, 1280)
        )
        paths.append(tmp_path / f"{outfit}.jpg")
        cv2.imwrite(str(paths[-1]), frame)
    assert main(["detect", *map(str, paths), "--attire"]) == 0
    khaki, own = _lines(capsys.readouterr().out)
    for record in (khaki, own):
        assert record["people"], "the pose model finds the person"
        for person in record["people"]:
            x0, y0, x1, y1 = person["box"]
            assert 0 <= x0 < x1 <= 720 and 0 <= y0 < y1 <= 1280
            assert 0 <= person["classifier_probability"] <= 1 and 0 <= person["detector_score"] <= 1
            assert person["score"] == pytest.approx(
                (person["classifier_probability"] + person["detector_score"]) / 2, abs=1e-4
            )
    assert any(p["official"] for p in khaki["people"])
    assert not any(p["official"] for p in own["people"])
