"""Shared fixtures: real people from photos ultralytics ships, frames rendered on them, the shipped model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from datasets.clips import Segment, write_livestream_clip
from datasets.people import PhotoPeople, bundled_photos, find_people
from datasets.synth import SynthConfig, generate, render_frame
from detector.model import DEFAULT_WEIGHTS, Detector

# The service's tests judge with the detector alone (``SERAGAM_ATTIRE=``; servers and batches they start
# inherit it): its second stage costs about five detector calls a frame. That stage is tested on its own
# (tests/detector/test_attire.py) and, where a test names it, in the service, the CLI and batch workers.
os.environ["SERAGAM_ATTIRE"] = ""

FIXTURE_OUTFITS = (
    "pdh_khaki",
    "everyday_batik",
    "satpol_pp",
    "civilian_khaki",
    "korpri_batik",
    "original",
    "white_insignia",
    "police",
)


@pytest.fixture(scope="session")
def bundled_people() -> list[PhotoPeople]:
    return find_people(bundled_photos())


@pytest.fixture(scope="session")
def shipped_detector() -> Detector:
    return Detector(DEFAULT_WEIGHTS)


@pytest.fixture(scope="session")
def frames(bundled_people: list[PhotoPeople]) -> list[tuple[np.ndarray, list]]:
    """Eight rendered 360x640 livestream frames (image, labels): official outfits and look-alikes in turn."""
    return [
        render_frame(bundled_people[i % 2], np.random.default_rng([7, i]), SynthConfig(), outfit, (360, 640))
        for i, outfit in enumerate(FIXTURE_OUTFITS)
    ]


@pytest.fixture(scope="session")
def tiny_dataset(bundled_people: list[PhotoPeople], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-frame dataset; with two source photos, train and val get one photo each."""
    out = tmp_path_factory.mktemp("synth") / "ds"
    return generate(
        bundled_people, out, SynthConfig(count=12, seed=3, fractions=(("train", 0.5), ("val", 0.5)))
    )


@pytest.fixture(scope="session")
def attire_clip(bundled_people: list[PhotoPeople], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16 s recording, 360x640 at 10 fps with a keyframe every 2 s: plain clothes, then PDH khaki
    from 6 s to 12 s, then plain clothes again."""
    path = tmp_path_factory.mktemp("recordings") / "attire.mp4"
    segments = [
        Segment(bundled_people[1], "original", 6),
        Segment(bundled_people[1], "pdh_khaki", 6),
        Segment(bundled_people[1], "original", 4),
    ]
    write_livestream_clip(path, segments, size=(360, 640), fps=10, seed=1)
    return path
