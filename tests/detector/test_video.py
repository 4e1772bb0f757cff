from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from detector.video import (
    CorruptVideoError,
    NoVideoStreamError,
    SamplingMode,
    SamplingPolicy,
    TruncatedVideoError,
    VideoError,
    decode_frame_at,
    iter_frames,
    probe,
)

# Tiny real videos made on the fly: each frame is a flat grey whose level encodes its frame number.
WIDTH, HEIGHT = 112, 64
FPS = 10
CLIP_FRAMES = 3 * FPS
LEVEL_STEP = 8  # grey level per frame number: far apart enough to survive compression
VIDEO_CODEC = "libx264" if "libx264" in av.codecs_available else "mpeg4"
RAW_FORMAT = "h264" if VIDEO_CODEC == "libx264" else "m4v"

ClipMaker = Callable[..., Path]


def frame_number(image: np.ndarray) -> int:
    """Which frame of a clip made by ``make_clip`` this decoded image is."""
    return round(float(image.mean()) / LEVEL_STEP)


def write_clip(
    path: Path,
    gop: int = FPS,
    container_format: str | None = None,
    faststart: bool = False,
    codec: str = VIDEO_CODEC,
    title: str | None = None,
    start_s: float = 0.0,
) -> Path:
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", format=container_format, options=options) as container:
        container.metadata["creation_time"] = "2026-02-03T10:00:00.000000Z"
        if title is not None:
            container.metadata["title"] = title
        stream = container.add_stream(codec, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.gop_size = gop
        if codec == "libx264":
            stream.options = {"keyint_min": str(gop), "sc_threshold": "0", "bf": "2"}
        for number in range(CLIP_FRAMES):
            image = np.full((HEIGHT, WIDTH, 3), number * LEVEL_STEP, np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            frame.pts, frame.time_base = round(start_s * FPS) + number, Fraction(1, FPS)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def write_audio_only(path: Path) -> Path:
    codec = "aac" if "aac" in av.codecs_available else "mp2"
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream(codec, rate=44100)
        for index in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1152), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 44100, index * 1152
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


@pytest.fixture
def make_clip(tmp_path: Path) -> ClipMaker:
    """``make_clip("name.mp4", gop=10, container_format=None, faststart=False)``: a 3 s clip."""
    return lambda name, **kwargs: write_clip(tmp_path / name, **kwargs)


ALL = SamplingPolicy(SamplingMode.ALL)


def sampled(path: Path, policy: SamplingPolicy) -> list[int]:
    return [frame_number(frame.image) for frame in iter_frames(path, policy)]


@pytest.mark.parametrize("container_format", ["mp4", "matroska", "mpegts"])
@pytest.mark.parametrize(
    ("policy", "gop", "expected"),
    [
        (SamplingPolicy(SamplingMode.ALL), FPS, list(range(CLIP_FRAMES))),
        (SamplingPolicy(SamplingMode.KEYFRAMES), FPS, [0, 10, 20]),
        (SamplingPolicy(SamplingMode.KEYFRAMES), 15, [0, 15]),
        (SamplingPolicy(SamplingMode.EVERY_N_SECONDS), 15, [0, 10, 20]),
        (SamplingPolicy(SamplingMode.EVERY_N_SECONDS, interval_s=0.5), FPS, [0, 5, 10, 15, 20, 25]),
        (
            SamplingPolicy(SamplingMode.EVERY_N_SECONDS, interval_s=0.25),
            FPS,
            [0, 3, 5, 8, 10, 13, 15, 18, 20, 23, 25, 28],
        ),
        (SamplingPolicy(SamplingMode.EVERY_N_SECONDS, interval_s=5), FPS, [0]),
    ],
)
def test_sampling_yields_the_selected_frames_with_their_times(
    make_clip: ClipMaker, container_format: str, policy: SamplingPolicy, gop: int, expected: list[int]
) -> None:
    path = make_clip("clip.video", gop=gop, container_format=container_format)
    frames = list(iter_frames(path, policy))
    assert [frame_number(f.image) for f in frames] == expected
    assert [f.index for f in frames] == list(range(len(expected)))
    assert [f.time_s for f in frames] == pytest.approx([n / FPS for n in expected], abs=1e-3)


@pytest.mark.parametrize(
    ("codec", "container_format"),
    [("libvpx-vp9", "webm"), ("libvpx", "webm"), ("libx265", "mp4"), ("libsvtav1", "matroska")],
    ids=["vp9-webm (browser recordings)", "vp8-webm", "hevc-mp4 (phones)", "av1-mkv"],
)
def test_keyframe_sampling_yields_only_keyframes_whatever_the_codec(
    make_clip: ClipMaker, codec: str, container_format: str
) -> None:
    """Some decoders (VP9) ignore being told to skip all but keyframes; the reader skips them itself."""
    if codec not in av.codecs_available:
        pytest.skip(f"this FFmpeg build has no {codec} encoder")
    path = make_clip("clip.video", container_format=container_format, codec=codec)
    with av.open(str(path)) as container:  # where the encoder put keyframes, as the decoder flags them
        keyframes = [
            frame_number(f.to_ndarray(format="bgr24")) for f in container.decode(video=0) if f.key_frame
        ]
    assert 1 < len(keyframes) < CLIP_FRAMES / 2
    assert sampled(path, SamplingPolicy(SamplingMode.KEYFRAMES)) == keyframes
    assert sampled(path, ALL) == list(range(CLIP_FRAMES))


@pytest.mark.parametrize(
    ("max_side", "shape"),
    [(None, (HEIGHT, WIDTH, 3)), (200, (HEIGHT, WIDTH, 3)), (56, (32, 56, 3)), (28, (16, 28, 3))],
)
def test_max_side_downscales_keeping_aspect(make_clip: ClipMaker, max_side: int | None, shape: tuple) -> None:
    policy = SamplingPolicy(SamplingMode.KEYFRAMES, max_side=max_side)
    frames = list(iter_frames(make_clip("clip.mp4"), policy))
    assert {f.image.shape for f in frames} == {shape}
    assert {f.image.dtype.name for f in frames} == {"uint8"}


# A pattern that shows which way up a frame is: coloured corners on grey.
TURN_PATTERN = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
TURN_PATTERN[:24, :32] = (0, 0, 255)
TURN_PATTERN[:24, -32:] = (0, 255, 0)
TURN_PATTERN[-24:, :32] = (255, 0, 0)


def write_turned_clip(path: Path, degrees: int, hflip: bool, vflip: bool, container_format: str) -> Path:
    """``TURN_PATTERN`` stored as it is, with a display matrix saying: turn it ``degrees``
    counter-clockwise, then mirror (as phones store portrait or selfie video)."""
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(VIDEO_CODEC, rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.codec_context.gop_size = 5
        stream.set_display_rotation(degrees, hflip=hflip, vflip=vflip)
        for _ in range(10):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(TURN_PATTERN, format="bgr24")))
        container.mux(stream.encode())
    return path


@pytest.mark.parametrize("container_format", ["mp4", "matroska"])
@pytest.mark.parametrize(
    ("degrees", "hflip", "vflip"),
    [
        (0, False, False),
        (90, False, False),
        (180, False, False),
        (-90, False, False),
        (0, True, False),
        (0, False, True),
        (90, True, False),
        (-90, True, False),
    ],
    ids=["none", "ccw", "half", "cw-phone-portrait", "mirror", "flip", "ccw-mirror", "cw-mirror"],
)
def test_frames_come_out_the_way_players_show_them(
    tmp_path: Path, degrees: int, hflip: bool, vflip: bool, container_format: str
) -> None:
    """All eight turns and mirrors of a display matrix; how FFmpeg's player shows each one."""
    path = write_turned_clip(tmp_path / "turned.video", degrees, hflip, vflip, container_format)
    shown = np.rot90(TURN_PATTERN, degrees // 90)
    shown = shown[:, ::-1] if hflip else shown
    shown = shown[::-1] if vflip else shown
    frames = [f.image for mode in SamplingMode for f in iter_frames(path, SamplingPolicy(mode))]
    frames.append(decode_frame_at(path, 0.5))
    for image in frames:
        assert image.shape == shown.shape and image.flags.c_contiguous
        assert np.abs(image.astype(int) - shown).mean() < 8
    half = list(iter_frames(path, SamplingPolicy(SamplingMode.KEYFRAMES, max_side=WIDTH // 2)))
    assert {f.image.shape for f in half} == {(shown.shape[0] // 2, shown.shape[1] // 2, 3)}


@pytest.mark.parametrize(("interval_s", "max_side"), [(0, None), (-1, None), (1, 0)])
def test_policy_rejects_impossible_settings(interval_s: float, max_side: int | None) -> None:
    with pytest.raises(ValueError, match="must be"):
        SamplingPolicy(SamplingMode.EVERY_N_SECONDS, interval_s=interval_s, max_side=max_side)


@pytest.mark.parametrize(
    ("container_format", "frame_count"), [("mp4", CLIP_FRAMES), ("matroska", None), ("mpegts", None)]
)
def test_probe_reads_container_facts(
    make_clip: ClipMaker, container_format: str, frame_count: int | None
) -> None:
    info = probe(make_clip("clip.video", container_format=container_format))
    assert (info.fps, info.frame_count) == (FPS, frame_count)
    assert info.duration_s == pytest.approx(3.0, abs=0.05)


# Where recordings' timestamps may start: an hour in (a clip cut from a stream with -copyts), and at a
# camera's wall-clock time (ffmpeg -use_wallclock_as_timestamps 1).
LATE_STARTS = [3600.0, 1.7e9]
VP9 = pytest.mark.skipif("libvpx-vp9" not in av.codecs_available, reason="no VP9 encoder here")


@pytest.mark.parametrize("start_s", LATE_STARTS)
@pytest.mark.parametrize(
    ("container_format", "codec"),
    [
        ("mp4", VIDEO_CODEC),
        ("mpegts", VIDEO_CODEC),
        ("matroska", VIDEO_CODEC),
        pytest.param("webm", "libvpx-vp9", marks=VP9),
    ],
)
def test_a_clip_whose_timestamps_start_late_is_measured_and_read_from_its_start(
    tmp_path: Path, container_format: str, codec: str, start_s: float
) -> None:
    """FFmpeg's Matroska muxer states where the track ends (the DURATION tag), not how long it lasts."""
    path = write_clip(
        tmp_path / "clip.video", container_format=container_format, codec=codec, start_s=start_s
    )
    assert probe(path).duration_s == pytest.approx(CLIP_FRAMES / FPS, abs=0.05)
    frames = list(iter_frames(path, ALL))
    assert [frame_number(f.image) for f in frames] == list(range(CLIP_FRAMES))
    assert [f.time_s for f in frames] == pytest.approx([n / FPS for n in range(CLIP_FRAMES)], abs=1e-3)


@pytest.mark.parametrize("start_s", LATE_STARTS)
def test_a_late_matroska_clip_without_a_duration_tag_is_measured_by_its_segment(
    tmp_path: Path, start_s: float
) -> None:
    """The segment's duration, like the tag, is where the file ends."""
    path = write_clip(tmp_path / "clip.mkv", container_format="matroska", start_s=start_s)
    data = path.read_bytes()
    assert data.count(b"DURATION") == 1
    path.write_bytes(data.replace(b"DURATION", b"DURATIOX"))  # a tag of another name; same length
    assert probe(path).duration_s == pytest.approx(CLIP_FRAMES / FPS, abs=0.05)


def test_probe_reads_creation_time_as_utc(make_clip: ClipMaker) -> None:
    created = probe(make_clip("clip.mp4")).creation_time
    assert created is not None
    assert created.isoformat() == "2026-02-03T10:00:00+00:00"


NOISE = np.random.default_rng(0).bytes(4096)


def write_bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


@pytest.mark.parametrize(
    ("make_bad_file", "error", "message"),
    [
        (lambda p: write_audio_only(p / "audio.mka"), NoVideoStreamError, "no video stream"),
        # seeded noise: about 1 in 300 random files parses as an audio-only stream instead
        (lambda p: write_bytes(p / "noise.mp4", NOISE), CorruptVideoError, "re-export"),
        (lambda p: write_bytes(p / "empty.mp4", b""), CorruptVideoError, "re-export"),
        (lambda p: write_bytes(p / "note.mp4", b"not a video\n" * 50), CorruptVideoError, "re-export"),
    ],
)
def test_unusable_files_raise_named_errors(
    tmp_path: Path, make_bad_file: Callable[[Path], Path], error: type[Exception], message: str
) -> None:
    path = make_bad_file(tmp_path)
    with pytest.raises(error, match=message):
        probe(path)
    with pytest.raises(error, match=message):
        next(iter_frames(path, ALL))


def test_raw_stream_without_timestamps_is_refused(make_clip: ClipMaker) -> None:
    with pytest.raises(CorruptVideoError, match=r"no timestamps.*remux"):
        next(iter_frames(make_clip("clip.raw", container_format=RAW_FORMAT), ALL))


def test_missing_file_is_not_a_video_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        next(iter_frames(tmp_path / "absent.mp4", ALL))


def cut(path: Path, keep: float) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize(
    ("container_format", "faststart", "keep"),
    [
        ("mp4", True, 0.8),  # cut inside the media data: the last packet comes flagged corrupt
        ("mp4", True, 0.99),  # cut inside the last packets: fewer packets than the index lists
        ("matroska", False, 0.8),  # demuxing just stops, short of the DURATION tag
    ],
)
@pytest.mark.parametrize("mode", list(SamplingMode))
def test_cut_clip_yields_what_it_can_then_raises(
    make_clip: ClipMaker, container_format: str, faststart: bool, keep: float, mode: SamplingMode
) -> None:
    path = cut(make_clip("clip.video", container_format=container_format, faststart=faststart), keep)
    got: list[int] = []
    with pytest.raises(TruncatedVideoError, match="breaks off") as raised:
        got.extend(frame_number(f.image) for f in iter_frames(path, SamplingPolicy(mode)))
    assert got[0] == 0
    assert got == sorted(got)
    assert raised.value.frames_yielded == len(got)
    assert isinstance(raised.value, CorruptVideoError)


@pytest.mark.parametrize(
    ("container_format", "faststart", "keep"),
    [
        ("mp4", False, 0.95),  # the index at the end is lost: the file does not even open
        ("mp4", False, 0.6),  # cut inside the index: opens with no streams at all
        ("matroska", False, 0.4),  # header intact, not one frame
    ],
)
def test_cut_clip_without_a_decodable_frame_is_corrupt(
    make_clip: ClipMaker, container_format: str, faststart: bool, keep: float
) -> None:
    path = cut(make_clip("clip.video", container_format=container_format, faststart=faststart), keep)
    with pytest.raises(CorruptVideoError) as raised:
        next(iter_frames(path, ALL))
    assert not isinstance(raised.value, TruncatedVideoError)


def test_cut_mpegts_passes_as_a_shorter_clip(make_clip: ClipMaker) -> None:
    """Documented limitation: a TS has no index or stated duration to notice the cut by."""
    got = sampled(cut(make_clip("clip.ts", container_format="mpegts"), 0.6), ALL)
    assert 0 < len(got) < CLIP_FRAMES


def test_a_late_matroska_clip_cut_short_is_still_noticed(tmp_path: Path) -> None:
    path = cut(write_clip(tmp_path / "clip.mkv", container_format="matroska", start_s=3600.0), 0.8)
    with pytest.raises(TruncatedVideoError, match="breaks off"):
        list(iter_frames(path, ALL))


# Demuxers seek differently: MP4 and FLV by decode time (with B-frames the keyframe they land on may
# be shown after the time asked), MPEG-TS by byte position (landing inside a GOP).
SEEKABLE = [
    ("mp4", VIDEO_CODEC),
    ("matroska", VIDEO_CODEC),
    ("mpegts", VIDEO_CODEC),
    ("flv", VIDEO_CODEC),
    pytest.param(
        "mp4",
        "libx265",
        marks=pytest.mark.skipif("libx265" not in av.codecs_available, reason="no HEVC encoder here"),
    ),
]


@pytest.mark.parametrize(("container_format", "codec"), SEEKABLE)
def test_ranges_and_seeks_yield_what_a_whole_read_yields(
    make_clip: ClipMaker, container_format: str, codec: str
) -> None:
    path = make_clip("clip.video", gop=FPS, container_format=container_format, codec=codec)
    assert sampled(path, ALL) == list(range(CLIP_FRAMES))
    for chunk_s in (1.0, 0.7):
        starts = np.arange(0, CLIP_FRAMES / FPS, chunk_s)
        chunked = [
            frame_number(f.image)
            for start in starts
            for f in iter_frames(path, ALL, start_s=float(start), end_s=float(start + chunk_s))
        ]
        assert chunked == list(range(CLIP_FRAMES)), chunk_s
    assert [frame_number(decode_frame_at(path, n / FPS)) for n in range(CLIP_FRAMES)] == list(
        range(CLIP_FRAMES)
    )


def test_a_range_without_a_due_frame_is_empty_not_an_error(make_clip: ClipMaker) -> None:
    path = make_clip("clip.mp4", gop=FPS)  # keyframes at 0, 1 and 2 s
    assert list(iter_frames(path, SamplingPolicy(SamplingMode.KEYFRAMES), start_s=1.2, end_s=1.9)) == []
    assert list(iter_frames(path, SamplingPolicy(SamplingMode.EVERY_N_SECONDS), start_s=2.5)) == []


def test_metadata_in_another_encoding_is_no_reason_to_refuse(make_clip: ClipMaker) -> None:
    path = make_clip("clip.mkv", container_format="matroska", title="Kafe QQ")
    data = path.read_bytes()
    assert data.count(b"Kafe QQ") == 1
    path.write_bytes(data.replace(b"Kafe QQ", b"Kaf\xe9 QQ"))  # Latin-1 "Kafé", not UTF-8; same length
    assert probe(path).duration_s == pytest.approx(CLIP_FRAMES / FPS, abs=0.15)
    assert sampled(path, ALL) == list(range(CLIP_FRAMES))


class _Unseekable(io.RawIOBase):
    """Where a live recorder writes: no going back to fill in a duration or an index."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, chunk: bytes) -> int:
        self.data += chunk
        return len(chunk)


@pytest.mark.skipif("libvpx-vp9" not in av.codecs_available, reason="no VP9 encoder here")
def test_a_browser_recording_without_a_stated_duration_is_measured(tmp_path: Path) -> None:
    sink = _Unseekable()
    with av.open(sink, "w", format="webm", options={"live": "1"}) as container:
        stream = container.add_stream("libvpx-vp9", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for number in range(CLIP_FRAMES):
            image = np.full((HEIGHT, WIDTH, 3), number * LEVEL_STEP, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode())
    path = tmp_path / "recording.webm"
    path.write_bytes(bytes(sink.data))
    with av.open(str(path)) as container:  # what MediaRecorder leaves out
        assert container.duration is None and container.streams.video[0].duration is None
    assert probe(path).duration_s == pytest.approx(CLIP_FRAMES / FPS, abs=0.15)
    assert sampled(path, ALL) == list(range(CLIP_FRAMES))


def test_frame_times_in_decode_order_are_refused(make_clip: ClipMaker) -> None:
    """AVI keeps no presentation times: with B-frames, frames come with their decode-order times."""
    path = make_clip("clip.avi", container_format="avi")
    with pytest.raises(CorruptVideoError, match=r"run backwards.*MP4"):
        list(iter_frames(path, ALL))


@pytest.mark.parametrize("keep", [0.2, 0.3, 0.4])
def test_a_cut_file_read_from_mid_way_raises_a_video_error(make_clip: ClipMaker, keep: float) -> None:
    path = cut(make_clip("clip.mkv", container_format="matroska"), keep)
    with pytest.raises(VideoError):
        list(iter_frames(path, ALL, start_s=2.5))


def open_descriptors(path: Path) -> int:
    fd_dir = Path("/proc/self/fd")
    return sum(1 for fd in fd_dir.iterdir() if os.path.realpath(fd) == str(path.resolve()))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts open files through /proc")
@pytest.mark.parametrize("how", ["closed early", "exhausted", "broken off"])
def test_file_is_released(make_clip: ClipMaker, how: str) -> None:
    path = make_clip("clip.mkv")
    if how == "broken off":
        cut(path, 0.8)
    frames = iter_frames(path, ALL)
    next(frames)
    assert open_descriptors(path) == 1
    if how == "closed early":
        frames.close()
    else:
        with pytest.raises(TruncatedVideoError) if how == "broken off" else contextlib.nullcontext():
            list(frames)
    assert open_descriptors(path) == 0


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts open files through /proc")
def test_file_is_released_when_opening_fails(tmp_path: Path) -> None:
    path = write_audio_only(tmp_path / "audio.mka")
    with pytest.raises(NoVideoStreamError):
        next(iter_frames(path, ALL))
    assert open_descriptors(path) == 0
