"""Synthetic livestream recordings: H.264 portrait clips of real people, with known attire spans.

A clip is a list of segments, each one person in one outfit for some seconds; frames get
talking-head motion (small sway and zoom) and sensor noise, and the encoder uses a phone app's
keyframe interval. The returned spans are the ground truth of when official attire is on screen.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from datasets.garments import OUTFITS
from datasets.people import PhotoPeople
from datasets.synth import SynthConfig, render_frame


@dataclass(frozen=True)
class Segment:
    photo: PhotoPeople  # of everyday clothes: render_frame refuses to force an outfit on real attire
    outfit: str  # a key of garments.OUTFITS ("original" keeps the photo's clothes)
    seconds: float
    after_gap_s: float = 0.0  # seconds before it without any frame: a stream that dropped and came back


@dataclass(frozen=True)
class AttireSpan:
    start_s: float
    end_s: float
    outfit: str


def write_livestream_clip(
    path: Path,
    segments: list[Segment],
    *,
    size: tuple[int, int] = (720, 1280),
    fps: int = 30,
    keyframe_s: float = 2.0,
    seed: int = 0,
) -> list[AttireSpan]:
    """Encode the segments into ``path`` (H.264 MP4); return the spans that show official attire."""
    spans, start = [], 0.0
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.codec_context.gop_size = max(1, round(keyframe_s * fps))
        stream.options = {"preset": "veryfast", "crf": "28", "sc_threshold": "0"}
        stream.codec_context.time_base = Fraction(1, fps)
        for k, segment in enumerate(segments):
            start += segment.after_gap_s
            rng = np.random.default_rng([seed, k])
            base, _ = render_frame(segment.photo, rng, SynthConfig(), outfit=segment.outfit, size=size)
            noise = _noise_bank(size, rng)
            n = round(segment.seconds * fps)
            for i in range(n):
                frame = av.VideoFrame.from_ndarray(
                    _talking_head(base, i / fps, noise[i % len(noise)]), "bgr24"
                )
                frame.pts = round(start * fps) + i
                container.mux(stream.encode(frame))
            if OUTFITS[segment.outfit].is_official:
                spans.append(AttireSpan(start, start + n / fps, segment.outfit))
            start += n / fps
        container.mux(stream.encode())
    return spans


def _noise_bank(
    size: tuple[int, int], rng: np.random.Generator, count: int = 8
) -> list[tuple[np.ndarray, ...]]:
    """Sensor noise (sigma 3) split into what to add and what to subtract, so applying it is two
    saturating OpenCV calls: drawing fresh Gaussian noise per 720p frame costs more than encoding it."""
    bank = []
    for _ in range(count):
        noise = np.rint(rng.normal(0, 3, (size[1], size[0], 3)))
        bank.append((np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8)))
    return bank


def _talking_head(base: np.ndarray, t: float, noise: tuple[np.ndarray, ...]) -> np.ndarray:
    h, w = base.shape[:2]
    zoom = 1.0 + 0.03 * np.sin(2 * np.pi * 0.3 * t)
    dx, dy = 0.02 * w * np.sin(2 * np.pi * 0.45 * t), 0.01 * h * np.sin(2 * np.pi * 0.7 * t + 1)
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 1.5 * np.sin(2 * np.pi * 0.2 * t), zoom)
    m[:, 2] += (dx, dy)
    frame = cv2.warpAffine(base, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    return cv2.subtract(cv2.add(frame, noise[0]), noise[1])
