"""Video sampling: decode a clip with PyAV and yield the frames worth scoring, in constant memory.

How PyAV 18.1 (FFmpeg 8.1) reacts to a file cut short, checked on clips made like the tests make them
(H.264 with B-frames), and how each case is caught here:

- MP4 with its index (``moov``) at the end: a cut loses the index, so ``av.open`` fails ("Invalid data",
  "End of file") or, cut inside the index, opens with no streams at all: ``CorruptVideoError``.
- faststart MP4 (index first): the demuxer hands over the cut packet flagged corrupt; the slice-threaded
  decoder then raises ``InvalidDataError``, but the frame-threaded one (``thread_type="AUTO"``) silently
  drops it. A cut inside the last packets just ends demuxing, without error, short of the frame count
  the index lists. Caught by the corrupt flag and by counting packets against ``stream.frames``.
- MKV: demuxing just stops at the cut, without error; the track's ``DURATION`` tag still states the
  full length, which is how the cut is noticed.
- MPEG-TS: demuxing just stops too, and FFmpeg estimates the duration from the last timestamps in the
  file, so a cut TS cannot be told from a shorter one: it is accepted, and the B-frames whose packets
  followed the last reference frame are lost without notice.
- Raw elementary streams (``.h264``) carry no timestamps at all, so their frames cannot be placed in time.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Iterator
from contextlib import closing, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

import av
import numpy as np
from av.container import InputContainer
from av.video.stream import VideoStream

from detector.images import UPRIGHT, Orientation

# A video that stops this close to its stated duration counts as complete: muxers round the last
# frame's duration, and a stricter test would reject intact phone recordings.
_END_SLACK_S = 0.1
_REEXPORT = (
    "it is not a media file, or it is damaged or cut short; "
    "re-export the clip (save it again from the recorder or phone) and upload it again"
)
_REMUX = "it is probably a raw stream; remux it into MP4 or MKV (ffmpeg -r FPS -i IN -c copy OUT.mp4)"
_REORDER = "convert it to MP4, which keeps each frame's time (ffmpeg -i IN OUT.mp4)"
# File suffixes read as recordings (by `seragam detect`; in `seragam batch` folders).
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".mkv", ".webm", ".ts", ".flv", ".avi", ".m4v"})
_MATROSKA = "matroska,webm"  # FFmpeg's name for the Matroska demuxer, which also reads WebM
# Absorbs float rounding of pts * time_base when comparing with multiples of the sampling interval.
_TIME_EPS_S = 1e-6
# How far before the requested time a seek tries, in turn, to land on a keyframe shown in time.
_SEEK_BACK_OFF_S = (0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


class VideoError(ValueError):
    """A file that cannot be used as a video clip."""


class NoVideoStreamError(VideoError):
    def __init__(self, path: str | Path) -> None:
        super().__init__(f"{path} has no video stream (audio only?): upload a video clip of the livestream")


class CorruptVideoError(VideoError):
    def __init__(self, path: str | Path, reason: str, advice: str = _REEXPORT) -> None:
        super().__init__(f"{path} cannot be read as a video ({reason}): {advice}")


class TruncatedVideoError(CorruptVideoError):
    """Raised after the frames that could be decoded were yielded: the rest of the clip is missing."""

    def __init__(self, path: str | Path, frames_yielded: int, reached_s: float) -> None:
        self.frames_yielded = frames_yielded
        self.reached_s = reached_s
        super().__init__(path, f"it breaks off at {reached_s:.2f} s, after {frames_yielded} sampled frames")


@dataclass(frozen=True)
class VideoFrame:
    """One sampled frame: ``image`` is BGR uint8 ``(height, width, 3)``, turned the way players show
    it (phones store portrait video as landscape frames and a quarter turn); ``index`` is its position
    among the frames yielded (0-based); ``time_s`` is seconds from the start of the video stream."""

    image: np.ndarray
    index: int
    pts: int
    time_s: float


@dataclass(frozen=True)
class VideoInfo:
    """What the container says about a clip, before decoding it. ``creation_time`` is UTC."""

    duration_s: float | None
    fps: float | None
    frame_count: int | None
    creation_time: datetime | None


class SamplingMode(StrEnum):
    EVERY_N_SECONDS = "interval"
    KEYFRAMES = "keyframes"
    ALL = "all"


@dataclass(frozen=True)
class SamplingPolicy:
    """Which frames to yield. ``interval`` yields the first frame at or after each multiple of
    ``interval_s`` (all frames are decoded); ``keyframes`` makes the decoder skip all but keyframes (the
    cheapest mode); ``all`` yields every frame. ``max_side`` downscales in the decoder's scaler so the
    longer side is at most that many pixels."""

    mode: SamplingMode
    interval_s: float = 1.0
    max_side: int | None = None

    def __post_init__(self) -> None:
        if self.interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {self.interval_s}: use e.g. 1.0")
        if self.max_side is not None and self.max_side < 1:
            raise ValueError(f"max_side must be at least 1 pixel or None, got {self.max_side}")


def probe(path: str | Path) -> VideoInfo:
    """Read a clip's container metadata without decoding it."""
    with _open(path) as container:
        stream = _video_stream(container, path)
        rate = stream.average_rate or stream.guessed_rate
        duration_s = _stated_duration_s(stream)
        if duration_s is None and container.duration:
            duration_s = container.duration / av.time_base
            if container.format.name == _MATROSKA:  # other demuxers give a length
                duration_s = _since_start_s(duration_s, stream)
        if duration_s is None:  # a live WebM (as browsers record) states none: where its packets end
            duration_s = _packets_end_s(container, stream)
        return VideoInfo(
            duration_s=duration_s,
            fps=float(rate) if rate else None,
            frame_count=stream.frames or None,
            creation_time=_creation_time(container.metadata.get("creation_time")),
        )


def iter_frames(
    path: str | Path, policy: SamplingPolicy, *, start_s: float = 0.0, end_s: float | None = None
) -> Iterator[VideoFrame]:
    """Yield the frames ``policy`` selects, decoding as it goes; the file is closed when the generator
    ends or is closed. Errors surface on the first ``next()``.

    ``start_s``/``end_s`` restrict it to the frames presented in ``[start_s, end_s)``: the decoder seeks
    to the keyframe at or before ``start_s``, so a range yields exactly the frames a whole read would
    (the ``interval`` schedule counts multiples of ``interval_s`` from the video's start either way).

    Raises ``NoVideoStreamError``, ``CorruptVideoError`` when nothing can be decoded, and
    ``TruncatedVideoError`` *after* yielding the frames before the point where the file breaks off.
    """
    with _open(path) as container:
        stream = _video_stream(container, path)
        stream.thread_type = "AUTO"
        reader = _StreamReader(container, stream, keyframes_only=policy.mode == SamplingMode.KEYFRAMES)
        if start_s > 0:
            try:
                reader.seek(start_s)
            except av.FFmpegError as error:
                raise CorruptVideoError(
                    path, f"it cannot be read from {start_s:.2f} s on: {error}"
                ) from error
        yield from _sample(reader, policy, path, start_s, end_s)


def decode_frame_at(path: str | Path, time_s: float, max_side: int | None = None) -> np.ndarray:
    """The frame presented at ``time_s`` (a time a scan reported), decoded again by seeking to it."""
    policy = SamplingPolicy(SamplingMode.ALL, max_side=max_side)
    with closing(iter_frames(path, policy, start_s=time_s)) as frames:
        return next(frames).image


def _sample(
    reader: _StreamReader, policy: SamplingPolicy, path: str | Path, start_s: float, end_s: float | None
) -> Iterator[VideoFrame]:
    is_due = _schedule(policy, start_s)
    yielded = decoded = 0
    last_s = -math.inf
    for frame in reader.frames():
        decoded += 1
        if frame.pts is None:
            raise CorruptVideoError(path, "its frames carry no timestamps", _REMUX)
        time_s = reader.seconds(frame.pts)
        if time_s < last_s:  # AVI stores no presentation times: with B-frames they come in decode order
            raise CorruptVideoError(path, f"its frame times run backwards at {last_s:.2f} s", _REORDER)
        last_s = time_s
        if end_s is not None and time_s + _TIME_EPS_S >= end_s:
            return  # presentation order: every later frame is past the range too
        if time_s + _TIME_EPS_S >= start_s and is_due(time_s):
            yield VideoFrame(_to_image(frame, policy.max_side), yielded, frame.pts, time_s)
            yielded += 1
    if decoded == 0:  # frames decoded but none due in [start_s, end_s) is a range without a sample
        raise CorruptVideoError(path, reader.damage or "no frame could be decoded")
    if not reader.is_complete():
        raise TruncatedVideoError(path, yielded, reader.reached_s)


class _StreamReader:
    """Demuxes and decodes one video stream, keeping what tells a clip cut short from a complete one:
    how many packets came (``packets``), how far into the stream they reached (``reached_s``), and
    what stopped the reading early (``damage``). ``keyframes_only``: only keyframe packets reach the
    decoder (the others are still counted); decoders' own ``skip_frame`` is not honoured by all (VP9)."""

    def __init__(
        self, container: InputContainer, stream: VideoStream, *, keyframes_only: bool = False
    ) -> None:
        self.stream = stream
        self.keyframes_only = keyframes_only
        self.packets = 0
        self.reached_s = 0.0
        self.damage: str | None = None
        self._container = container
        self._start = stream.start_time or 0
        self._seeked = False

    def seek(self, time_s: float) -> None:
        """Continue from a keyframe shown at or before ``time_s``. Demuxers seek by decode time (MP4,
        FLV: with B-frames the keyframe they land on may be shown after ``time_s``) or by byte position
        (MPEG-TS: they may land inside a GOP, ahead of its keyframe), so the seek backs off until the
        first keyframe read is shown in time; at the latest to the file's start."""
        self._seeked = True
        for back_s in _SEEK_BACK_OFF_S:
            target = self._start + math.floor((time_s - back_s - _TIME_EPS_S) / self.stream.time_base)
            if target <= self._start:
                break
            self._container.seek(target, stream=self.stream, backward=True, any_frame=False)
            if self._first_keyframe_s() <= time_s + _TIME_EPS_S:
                self._container.seek(target, stream=self.stream, backward=True, any_frame=False)
                return
        self._container.seek(0)  # the file's start (seeking to a TS stream's own start lands past it)

    def _first_keyframe_s(self) -> float:
        for packet in self._container.demux(self.stream):
            if packet.is_keyframe and packet.pts is not None:
                return self.seconds(packet.pts)
        return math.inf

    def frames(self) -> Iterator[av.VideoFrame]:
        """Decoded frames in presentation order, up to the first packet that is incomplete or fails;
        after a seek, from the first keyframe (the packets before it cannot be decoded)."""
        waiting_for_key = self._seeked
        try:
            for packet in self._container.demux(self.stream):
                if packet.is_corrupt:
                    self.damage = f"an incomplete packet after {self.reached_s:.2f} s"
                    break
                self.note(packet)
                waiting_for_key = waiting_for_key and not packet.is_keyframe
                if packet.size and (waiting_for_key or (self.keyframes_only and not packet.is_keyframe)):
                    continue
                yield from packet.decode()
        except av.FFmpegError as error:
            self.damage = str(error)
        if self.damage:
            yield from self._drain()

    def is_complete(self) -> bool:
        """Whether the stream was read to its end: no damage, as many packets as the container's index
        lists (MP4, AVI; not counted after a seek), and reaching the duration it states (MP4, MKV)."""
        if self.damage or (not self._seeked and self.packets < (self.stream.frames or 0)):
            return False
        stated_s = _stated_duration_s(self.stream)
        return stated_s is None or self.reached_s >= stated_s - _END_SLACK_S

    def seconds(self, pts: int) -> float:
        return float((pts - self._start) * self.stream.time_base)

    def note(self, packet: av.Packet) -> None:
        """Count a packet read and how far into the stream it reaches."""
        if packet.size:
            self.packets += 1
        if packet.pts is not None:
            self.reached_s = max(self.reached_s, self.seconds(packet.pts + (packet.duration or 0)))

    def _drain(self) -> list[av.VideoFrame]:
        # The decoder still holds good frames when damage stops it: a frame-threaded one several (when
        # fed keyframes only, several keyframes).
        try:
            return self.stream.decode(None)
        except av.FFmpegError:
            return []


def _schedule(policy: SamplingPolicy, start_s: float) -> Callable[[float], bool]:
    if policy.mode != SamplingMode.EVERY_N_SECONDS:
        return lambda _time_s: True
    next_due_s = math.ceil((start_s - _TIME_EPS_S) / policy.interval_s) * policy.interval_s

    def is_due(time_s: float) -> bool:
        nonlocal next_due_s
        if time_s + _TIME_EPS_S < next_due_s:
            return False
        # Skip the multiples a gap in the video jumped over: one frame per interval, never a burst.
        next_due_s = (math.floor((time_s + _TIME_EPS_S) / policy.interval_s) + 1) * policy.interval_s
        return True

    return is_due


def _to_image(frame: av.VideoFrame, max_side: int | None) -> np.ndarray:
    width, height = _scaled_size(frame.width, frame.height, max_side)
    return _display_orientation(frame).apply(frame.to_ndarray(format="bgr24", width=width, height=height))


def _display_orientation(frame: av.VideoFrame) -> Orientation:
    """How players turn the frame: its display matrix (MP4, MKV) read the way FFmpeg applies it; a
    rotation between quarter turns snaps to the nearest one."""
    matrix = frame.side_data.get("DISPLAYMATRIX")
    if matrix is None:
        return UPRIGHT
    # 3x3 of 32-bit integers in native byte order, row by row: [a b u; c d v; x y w]; a point (p, q)
    # is shown at (a p + c q + x, b p + d q + y), up to scale.
    a, b, _, c, d = struct.unpack("5i", bytes(matrix)[:20])
    if abs(a) >= abs(b):
        return Orientation(mirror_x=a < 0, mirror_y=d < 0)
    return Orientation(swap_axes=True, mirror_x=c < 0, mirror_y=b < 0)


def _scaled_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """``(width, height)`` shrunk, keeping the aspect ratio, so the longer side is at most ``max_side``."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    scale = max_side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _open(path: str | Path) -> InputContainer:
    try:
        return av.open(str(path), metadata_errors="replace")  # a Latin-1 title is no reason to refuse
    except FileNotFoundError:
        raise
    except av.FFmpegError as error:
        raise CorruptVideoError(path, str(error)) from error


def _video_stream(container: InputContainer, path: str | Path) -> VideoStream:
    if not container.streams:
        raise CorruptVideoError(path, "no streams found")
    if not container.streams.video:
        raise NoVideoStreamError(path)
    return container.streams.video[0]


def _stated_duration_s(stream: VideoStream) -> float | None:
    """The video stream's own duration as the container states it (MP4, TS, AVI: a stream field; MKV: the
    track's ``DURATION`` tag, ``HH:MM:SS.nnnnnnnnn``, where the track ends)."""
    if stream.duration:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION")
    if tag is None:
        return None
    try:
        hours, minutes, seconds = tag.split(":")
        end_s = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    except ValueError:
        return None
    return _since_start_s(end_s, stream) if math.isfinite(end_s) else None  # "00:00:nan" is no duration


def _since_start_s(end_s: float, stream: VideoStream) -> float | None:
    """The duration of a stream that ends at ``end_s``. FFmpeg's Matroska muxer states where a track (the
    ``DURATION`` tag) and the file (the segment duration) end, not how long they last: the same once
    timestamps start at 0, but a camera's wall-clock timestamps start at 1.7e9 s. Frame times count from
    the stream's start (``_StreamReader.seconds``), so its duration does too; an end before it is none."""
    duration_s = end_s - float((stream.start_time or 0) * stream.time_base)
    return duration_s if duration_s >= 0 else None


def _packets_end_s(container: InputContainer, stream: VideoStream) -> float | None:
    """Where the stream's packets end, read without decoding them; None without timestamps (a raw stream)."""
    reader = _StreamReader(container, stream)
    with suppress(av.FFmpegError):  # damage: reading the frames reports it
        for packet in container.demux(stream):
            reader.note(packet)
    return reader.reached_s or None


def _creation_time(value: str | None) -> datetime | None:
    """Parse the container's ``creation_time`` tag; FFmpeg writes it in UTC, sometimes without a zone."""
    if not value:
        return None
    try:
        stamp = datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
