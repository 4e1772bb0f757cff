"""``seragam``: the command line (ultralytics-style verbs: detect, train, eval, export, data)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import cv2

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".ts", ".flv", ".avi", ".m4v"}


def _detect(args: argparse.Namespace) -> int:
    from detector.annotate import annotate
    from detector.episodes import EpisodeTracker
    from detector.images import read_image
    from detector.model import Detector
    from detector.video import SamplingMode, SamplingPolicy, iter_frames

    detector = Detector(args.model)
    official = detector.taxonomy.official_names
    if args.save_dir:
        args.save_dir.mkdir(parents=True, exist_ok=True)
    for path in args.paths:
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            image = read_image(path)
            dets = detector.detect(image)
            print(json.dumps({"file": str(path), "model": detector.version, **dets.to_dict()}))
            if args.save_dir:
                cv2.imwrite(str(args.save_dir / f"{path.stem}.jpg"), annotate(image, dets))
            continue
        tracker = EpisodeTracker()
        policy = SamplingPolicy(SamplingMode(args.sample), interval_s=args.interval)
        for frame in iter_frames(path, policy):
            dets = detector.detect(frame.image)
            tracker.update(frame.time_s, dets.best_score(official), {n for n in dets.labels if n in official})
            print(json.dumps({"file": str(path), "time_s": round(frame.time_s, 3), **dets.to_dict()}))
            if args.save_dir and len(dets):
                cv2.imwrite(
                    str(args.save_dir / f"{path.stem}_{frame.time_s:09.3f}.jpg"), annotate(frame.image, dets)
                )
        episodes = [e.__dict__ for e in tracker.finish()]
        print(json.dumps({"file": str(path), "model": detector.version, "episodes": episodes}))
    return 0


def _demo(args: argparse.Namespace) -> int:
    """Render a livestream frame and a short clip of real people, then detect on both."""
    import numpy as np

    from datasets.clips import Segment, write_livestream_clip
    from datasets.people import bundled_photos, find_people
    from datasets.synth import SynthConfig, render_frame

    args.out.mkdir(parents=True, exist_ok=True)
    people = find_people(bundled_photos())
    frame, _ = render_frame(
        people[-1], np.random.default_rng(4), SynthConfig(), outfit="pdh_khaki", size=(720, 1280)
    )
    cv2.imwrite(str(args.out / "frame.jpg"), frame)
    clip = args.out / "clip.mp4"
    spans = write_livestream_clip(
        clip,
        [
            Segment(people[-1], "original", 6),
            Segment(people[-1], "pdh_khaki", 8),
            Segment(people[-1], "everyday_batik", 6),
        ],
        size=(360, 640),
        fps=15,
    )
    print(json.dumps({"clip": str(clip), "uniform_on_screen": [s.__dict__ for s in spans]}))
    detect_args = argparse.Namespace(
        paths=[args.out / "frame.jpg", clip],
        model=args.model,
        save_dir=args.out / "annotated",
        sample="interval",
        interval=1.0,
    )
    return _detect(detect_args)


def _train(args: argparse.Namespace) -> int:
    from datasets.train import TrainConfig, train

    config = TrainConfig(
        data=args.data,
        out=args.out,
        epochs=args.epochs,
        imgsz=args.imgsz,
        batch=args.batch,
        freeze=args.freeze,
        seed=args.seed,
        device=args.device,
        workers=args.workers,
        cache=args.cache,
        runs_dir=args.runs_dir,
    )
    print(train(config))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from datasets.evaluate import choose_thresholds, evaluate
    from detector.model import ModelSettings
    from detector.taxonomy import load_taxonomy

    if args.tune_thresholds:
        imgsz = ModelSettings.for_weights(args.model, load_taxonomy()).imgsz
        print(json.dumps({"thresholds": choose_thresholds(args.model, args.data, args.imgsz or imgsz)}))
    print(json.dumps(evaluate(args.model, args.data, args.realdata), indent=2))
    return 0


def _export(args: argparse.Namespace) -> int:
    from detector.model import ModelSettings
    from detector.offline import YOLO
    from detector.taxonomy import load_taxonomy

    imgsz = ModelSettings.for_weights(args.model, load_taxonomy()).imgsz
    exported = Path(
        YOLO(str(args.model), task="detect").export(format="onnx", imgsz=imgsz, dynamic=False, simplify=False)
    )
    sidecar = args.model.with_suffix(".yaml")
    if sidecar.exists():  # the ONNX model operates at the same thresholds as its source
        exported.with_suffix(".yaml").write_text(sidecar.read_text())
    print(exported)
    return 0


def _data_synth(args: argparse.Namespace) -> int:
    from datasets.people import bundled_photos, find_people, realdata_train_photos
    from datasets.synth import SynthConfig, generate

    photos = bundled_photos() + ([] if args.no_realdata else realdata_train_photos(args.realdata))
    people = find_people(photos, cache=args.out.with_name(args.out.name + ".people.json"))
    print(generate(people, args.out, SynthConfig(count=args.count, seed=args.seed)))
    return 0


def _data_stats(args: argparse.Namespace) -> int:
    from datasets.stats import dataset_stats

    print(dataset_stats(args.data).format_table())
    return 0


def _data_import(args: argparse.Namespace) -> int:
    from datasets import importers
    from datasets.splits import split_by_source
    from detector.taxonomy import load_taxonomy

    readers: dict[str, Callable[..., list[importers.LabelledImage]]] = {
        "coco": importers.read_coco,
        "label-studio": importers.read_label_studio,
        "cvat": importers.read_cvat,
    }
    class_map = json.loads(args.class_map) if args.class_map else None
    lists = [
        importers.read_yolo(a, class_map=class_map)
        if args.format == "yolo"
        else readers[args.format](a, args.images, class_map=class_map)
        for a in args.annotations
    ]
    items = importers.merge(*lists)
    fractions = dict(zip(("train", "val", "test"), args.fractions, strict=True))
    print(
        importers.write_yolo_dataset(
            split_by_source(items, fractions, args.seed), args.out, load_taxonomy().names
        )
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    from datasets.people import REALDATA_DIR
    from detector.model import DEFAULT_WEIGHTS

    parser = argparse.ArgumentParser(prog="seragam", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True)

    p = verbs.add_parser("detect", help="detect attire in images or videos; prints JSON lines")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--model", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--save-dir", type=Path, help="write annotated images here")
    p.add_argument("--sample", choices=["interval", "keyframes", "all"], default="interval")
    p.add_argument(
        "--interval", type=float, default=1.0, help="seconds between sampled frames (interval mode)"
    )
    p.set_defaults(run=_detect)

    p = verbs.add_parser("demo", help="render a sample frame and clip of real people and detect on them")
    p.add_argument("--out", type=Path, default=Path("runs/demo"))
    p.add_argument("--model", type=Path, default=DEFAULT_WEIGHTS)
    p.set_defaults(run=_demo)

    p = verbs.add_parser("train", help="train a detector from a data.yaml")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--epochs", type=int, default=25)
    p.add_argument("--imgsz", type=int, default=384)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--freeze", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cache", default="ram", choices=["ram", "disk", ""])
    p.add_argument("--device", help="cpu, 0, 0,1 ... (default: a CUDA GPU when present, else cpu)")
    p.add_argument("--runs-dir", type=Path, default=Path("runs/train"))
    p.set_defaults(run=_train)

    p = verbs.add_parser("eval", help="evaluate a model; writes <model>.eval.json beside it")
    p.add_argument("--model", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--data", type=Path, help="synthetic data.yaml (its test split is scored)")
    p.add_argument("--realdata", type=Path, default=REALDATA_DIR)
    p.add_argument(
        "--tune-thresholds",
        action="store_true",
        help="first choose per-class thresholds on the data's val split (best F1)",
    )
    p.add_argument("--imgsz", type=int)
    p.set_defaults(run=_eval)

    p = verbs.add_parser("export", help="export a .pt model to ONNX beside it")
    p.add_argument("--model", type=Path, default=DEFAULT_WEIGHTS)
    p.set_defaults(run=_export)

    data = verbs.add_parser("data", help="build and inspect datasets").add_subparsers(
        dest="data_verb", required=True
    )
    p = data.add_parser("synth", help="render synthetic livestream frames on real people")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--count", type=int, default=1500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--realdata", type=Path, default=REALDATA_DIR)
    p.add_argument("--no-realdata", action="store_true", help="use only the photos bundled with ultralytics")
    p.set_defaults(run=_data_synth)
    p = data.add_parser("stats", help="class counts per split of a data.yaml")
    p.add_argument("data", type=Path)
    p.set_defaults(run=_data_stats)
    p = data.add_parser(
        "import", help="import labelled data (yolo, coco, label-studio, cvat) as a split dataset"
    )
    p.add_argument("annotations", nargs="+", type=Path)
    p.add_argument("--format", required=True, choices=["yolo", "coco", "label-studio", "cvat"])
    p.add_argument("--images", type=Path, help="image folder (not for yolo)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--class-map", help='JSON mapping of foreign class names, e.g. {"nametag": "name_plate"}')
    p.add_argument(
        "--fractions", type=float, nargs=3, default=(0.8, 0.1, 0.1), metavar=("TRAIN", "VAL", "TEST")
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_data_import)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, FileNotFoundError, FileExistsError) as exc:
        print(f"seragam: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
