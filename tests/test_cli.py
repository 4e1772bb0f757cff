from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from api.cli import main
from datasets.clips import Segment, write_livestream_clip
from datasets.crops import frame_source
from datasets.evaluate import box_metrics_by_kind
from datasets.importers import open_yolo_dataset
from datasets.people import PhotoPeople
from datasets.synth import SynthConfig, render_frame
from detector.model import DEFAULT_WEIGHTS
from detector.taxonomy import load_taxonomy


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


def test_detect_refuses_to_save_two_inputs_of_one_name_over_each_other(frames: list, tmp_path: Path) -> None:
    for day in ("day1", "day2"):
        (tmp_path / day).mkdir()
        cv2.imwrite(str(tmp_path / day / "frame.jpg"), frames[0][0])
    inputs = [str(tmp_path / day / "frame.jpg") for day in ("day1", "day2")]
    assert main(["detect", *inputs, "--save-dir", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


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
        (["data", "stats", "missing"], "pass a data.yaml"),
        (["eval", "--report", "missing/report.json"], "its folder does not exist"),
        (["data", "synth", "--out", "missing/ds", "--realdata", "missing"], "has no labels.csv"),
        (
            ["data", "crops", "--data", "missing.yaml", "--out", "missing/c", "--realdata", "missing"],
            "labels.csv",
        ),
        (["data", "import", "README.md", "--format", "coco", "--out", "missing/ds"], "coco needs --images"),
        (
            ["detect", "README.md", "--model", "README.md"],
            "README.md is not a usable .pt or .onnx YOLO model",
        ),
        (["export", "--model", "README.md"], "export makes an .onnx of a .pt model"),
        (["train", "--data", "missing.yaml", "--out", "missing/m.pt", "--time", "-1"], "hours to train for"),
        (["batch", "missing", "--chunk-s", "nan"], "chunk_s must be a finite number"),
        (["batch", "missing", "--dense-score", "-1"], "dense_score is an attire score, 0 or more"),
        (["batch", "missing", "--out", "tests"], "the results file tests is a folder"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(argv: list[str], message: str, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("seragam: error:") and err.count("\n") == 1 and message in err


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--tune-thresholds"], "--tune-thresholds needs --data"),
        (["--imgsz", "480"], "--imgsz needs --tune-thresholds"),  # else the settings file's size, silently
        (["--split", "val"], "--split val needs --data"),
    ],
)
def test_eval_refuses_options_it_cannot_use(options: list[str], message: str, tmp_path: Path, capsys) -> None:
    model = tmp_path / "seragam-n.pt"
    shutil.copyfile(DEFAULT_WEIGHTS, model)
    report = tmp_path / "report.json"
    # tmp_path has no labels.csv: no realdata, so an evaluation that ran would be quick
    argv = ["eval", "--model", str(model), "--realdata", str(tmp_path), "--report", str(report)]

    assert main([*argv, *options]) == 2

    assert message in capsys.readouterr().err
    assert not report.exists() and not model.with_suffix(".yaml").exists()


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
    assert "+seragam-attire@" in khaki["model"]  # the detections are the service's, with the second stage
    official = load_taxonomy().official_names
    assert any(d["class"] in official for d in khaki["detections"])


def test_held_out_set_renders_only_test_photos_and_cannot_be_trained_on(
    bundled_people: list[PhotoPeople], tmp_path: Path, capsys
) -> None:
    """A realdata folder with one civilian train photo and one Satpol PP test photo: the held-out set is
    made of the test photo's frames alone, all in its test split, which the detector can be scored on
    (as frames of a real uniform photo) but never trained on, cropped for the classifier, or used to
    choose thresholds."""
    realdata = tmp_path / "realdata"
    (realdata / "images").mkdir(parents=True)
    rows = ["file,label,split,source_repo,source_commit,source_path,note"]
    labels = (("train", "civilian"), ("test", "asn_satpol_pp"))
    for (split, label), photo in zip(labels, bundled_people, strict=True):
        name = Path(photo.path).name
        # mirrored: the test split leaves out the bundled pictures themselves (the generator trains on them)
        cv2.imwrite(str(realdata / "images" / name), cv2.flip(cv2.imread(photo.path), 1))
        rows.append(f"images/{name},{label},{split},,,,")
    (realdata / "labels.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "heldout"
    argv = ["data", "synth", "--out", str(out), "--count", "6", "--realdata", str(realdata), "--workers", "1"]

    assert main([*argv, "--realdata-split", "test"]) == 0

    data_yaml = out / "data.yaml"
    dataset = open_yolo_dataset(data_yaml)
    assert dataset.splits["train"] == dataset.splits["val"] == ()
    assert {frame_source(f) for f in dataset.splits["test"]} == {Path(bundled_people[1].path).stem}
    assert len(dataset.splits["test"]) == 6
    kinds = box_metrics_by_kind(DEFAULT_WEIGHTS, data_yaml, 416, "test", realdata)
    assert kinds is not None and list(kinds) == ["real_uniform_photos"]
    boxes = kinds["real_uniform_photos"]
    assert boxes["frames"] == 6 and list(boxes["boxes"]) == ["field_uniform"] and 0 <= boxes["map50"] <= 1
    capsys.readouterr()
    assert main(["train", "--data", str(data_yaml), "--out", str(tmp_path / "m.pt")]) == 2
    assert "for evaluation only" in capsys.readouterr().err
    assert main(["data", "crops", "--data", str(data_yaml), "--out", str(tmp_path / "crops")]) == 2
    assert "for evaluation only" in capsys.readouterr().err
    model = tmp_path / "seragam-n.pt"
    shutil.copyfile(DEFAULT_WEIGHTS, model)
    for tune in ("--tune-thresholds", "--tune-attire-threshold"):
        assert main(["eval", "--model", str(model), "--data", str(data_yaml), "--attire", "a.pt", tune]) == 2
        assert "no 'val' images" in capsys.readouterr().err
    assert main([*argv, "--realdata-split", "test", "--no-realdata"]) == 2
    assert "drop --no-realdata" in capsys.readouterr().err


def test_data_synth_refuses_a_count_below_one(tmp_path: Path, capsys) -> None:
    out = tmp_path / "ds"
    assert main(["data", "synth", "--out", str(out), "--count", "0", "--no-realdata", "--workers", "1"]) == 2
    assert "at least 1" in capsys.readouterr().err and not out.exists()


def write_cvat_streams(folder: Path, streams: int, frames: int) -> Path:
    """A CVAT export of numbered frames (as CVAT names a video's frames), one folder a stream."""
    images = []
    for s in range(streams):
        for f in range(frames):
            name = f"stream{s}/frame_{f:06d}.jpg"
            (folder / "images" / f"stream{s}").mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / "images" / name), np.full((20, 40, 3), 10 * s + f, np.uint8))
            box = '<box label="name_plate" xtl="10" ytl="2" xbr="18" ybr="6"/>' if f % 2 else ""
            images.append(f'<image id="{len(images)}" name="{name}" width="40" height="20">{box}</image>')
    xml = folder / "annotations.xml"
    xml.write_text(f"<annotations><version>1.1</version>{''.join(images)}</annotations>")
    return xml


def imported_streams(data_yaml: Path) -> dict[str, set[str]]:
    """For each split, the streams its images come from (written as ``<hash>_frame_N``, so read back
    through the pixel value each stream's frames were drawn with)."""
    dataset = open_yolo_dataset(data_yaml)
    return {
        split: {f"stream{int(cv2.imread(str(path))[0, 0, 0]) // 10}" for path in dataset.images(split)}
        for split in dataset.splits
    }


def test_data_import_keeps_each_stream_in_one_split_by_folder(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    xml = write_cvat_streams(tmp_path, streams=5, frames=4)
    argv = ["data", "import", str(xml), "--format", "cvat", "--images", str(tmp_path / "images")]

    assert main([*argv, "--out", str(tmp_path / "by-name")]) == 0
    assert "20 numbered images (20 of them named 'frame' and a number) each make a source of their own" in (
        caplog.text
    )
    by_name = imported_streams(tmp_path / "by-name" / "data.yaml")
    assert by_name["train"] & (by_name["val"] | by_name["test"])  # the leak the warning is about

    assert main([*argv, "--source", "folder", "--out", str(tmp_path / "by-folder")]) == 0
    assert caplog.text.count("numbered images") == 1
    by_folder = imported_streams(tmp_path / "by-folder" / "data.yaml")
    assert sorted(len(streams) for streams in by_folder.values()) == [1, 1, 3]
    assert set.union(*by_folder.values()) == {f"stream{s}" for s in range(5)}


def test_data_import_by_annotation_file_warns_of_empty_splits(tmp_path: Path, capsys) -> None:
    xmls = [write_cvat_streams(tmp_path / f"task{t}", streams=1, frames=3) for t in range(2)]
    images = tmp_path / "task0" / "images"
    argv = ["data", "import", *map(str, xmls), "--format", "cvat", "--images", str(images)]

    assert main([*argv, "--source", "file", "--out", str(tmp_path / "out")]) == 0

    assert "the test split is empty: 1 source(s) for 3 splits" in capsys.readouterr().err
    assert (
        main(["train", "--data", str(tmp_path / "out" / "data.yaml"), "--out", str(tmp_path / "m.pt")]) == 2
    )
    assert "has no 'val' images" in capsys.readouterr().err
