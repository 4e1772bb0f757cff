"""Keyframe sampling speed: ``iter_frames`` in ``keyframes`` mode next to a plain PyAV loop with the
decoder told to skip all but keyframes (``skip_frame="NONKEY"``), and next to decoding every frame.

Encodes one portrait 720x1280 30 fps recording per codec (H.264 in MP4 as phones and apps write it,
VP9 in WebM as browsers record it), 2 s keyframe interval, with talking-head motion of a real person,
then times each way of reading it, interleaved round by round. Prints medians, frames yielded, and the
ratio against the plain ``NONKEY`` loop.

    .venv/bin/python bench/decode.py [--seconds 120] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av

from datasets.clips import Segment, write_livestream_clip
from datasets.people import bundled_photos, find_people
from detector.video import SamplingMode, SamplingPolicy, iter_frames

CODECS = {"h264-mp4": ("libx264", ".mp4"), "vp9-webm": ("libvpx-vp9", ".webm")}


def recording(folder: Path, name: str, seconds: float) -> Path:
    """The same frames as ``write_livestream_clip`` writes, in ``name``'s codec and container."""
    source = folder / "source.mp4"
    if not source.exists():
        person = find_people(bundled_photos())[1]
        write_livestream_clip(source, [Segment(person, "pdh_khaki", seconds)], size=(720, 1280), fps=30)
    codec, suffix = CODECS[name]
    path = folder / f"{name}{suffix}"
    with av.open(str(source)) as src, av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = 720, 1280, "yuv420p"
        stream.codec_context.gop_size = 60
        if codec == "libvpx-vp9":
            stream.options = {"deadline": "realtime", "cpu-used": "8", "crf": "36", "b": "0"}
        for frame in src.decode(video=0):
            image = frame.to_ndarray(format="bgr24")
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        out.mux(stream.encode())
    return path


def nonkey_loop(path: Path) -> int:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.skip_frame = "NONKEY"
        return sum(1 for frame in container.decode(stream) if frame.to_ndarray(format="bgr24") is not None)


def every_frame(path: Path) -> int:
    return sum(1 for _ in iter_frames(path, SamplingPolicy(SamplingMode.ALL)))


def keyframes(path: Path) -> int:
    return sum(1 for _ in iter_frames(path, SamplingPolicy(SamplingMode.KEYFRAMES)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    runs: dict[str, Callable[[Path], int]] = {
        "PyAV loop, skip_frame=NONKEY (baseline)": nonkey_loop,
        "iter_frames keyframes": keyframes,
        "iter_frames all frames": every_frame,
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in CODECS:
            path = recording(Path(tmp), name, args.seconds)
            times: dict[str, list[float]] = {label: [] for label in runs}
            frames: dict[str, int] = {}
            for _ in range(args.rounds):
                for label, run in runs.items():
                    start = time.perf_counter()
                    frames[label] = run(path)
                    times[label].append(time.perf_counter() - start)
            base = statistics.median(times[next(iter(runs))])
            print(f"{name}: {args.seconds:.0f} s of 720x1280 at 30 fps, {args.rounds} rounds")
            for label in runs:
                median = statistics.median(times[label])
                print(f"  {label:42s} {median:7.2f} s  {frames[label]:5d} frames  {median / base:5.2f}x")


if __name__ == "__main__":
    main()
