"""Latency of ``POST /v1/frames`` over HTTP next to the bare ``detect`` call of the detector it wraps.

Starts ``seragam serve`` (uvicorn, one worker) on a free 127.0.0.1 port with a fresh data folder, sends
the same 720x1280 JPEG as a personal account's frame in working hours (so every request also opens an
R1 case with evidence), at concurrency 1 and 4, and times the service's detector (``load_detector``: with
two-stage scoring unless ``--no-attire``) on the decoded frame in this process in the same run. Prints
p50/p95 and the overhead ratio HTTP / bare.

    .venv/bin/python -m bench.api [--model models/seragam-n.pt] [--no-attire] [--requests 20]

(As a module: run as a script, this file would shadow the ``api`` package it measures.)
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import httpx
import numpy as np

from api.auth import create_api_key
from api.config import Settings
from api.db import open_database, session_factory
from api.registry import create_account, create_agency, create_person
from datasets.people import bundled_photos, find_people
from datasets.synth import SynthConfig, render_frame
from detector.attire import DEFAULT_ATTIRE_WEIGHTS, load_detector
from detector.images import decode_image
from detector.model import DEFAULT_WEIGHTS, Detector

FORM = {"platform": "tiktok", "handle": "bench.account", "captured_at": "2026-04-14T10:00:00+07:00"}


def frame_jpeg() -> bytes:
    people = find_people(bundled_photos())
    image, _ = render_frame(people[-1], np.random.default_rng(4), SynthConfig(), "pdh_khaki", (720, 1280))
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def prepare(settings: Settings) -> str:
    """A registry with one personal account, and an uploader key for it."""
    engine = open_database(settings.db_url)
    with session_factory(engine)() as session:
        agency = create_agency(session, code="BENCH", name="Bench agency")
        person = create_person(session, nip="198507142010011002", name="Bench", agency_id=agency.id)
        create_account(session, platform="tiktok", handle="bench.account", person_id=person.id)
        _, key = create_api_key(session, name="bench", role="uploader")
        session.commit()
    engine.dispose()
    return key


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(data_dir: Path, model: Path, attire: Path | None, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "SERAGAM_MODEL": str(model),
        "SERAGAM_ATTIRE": "" if attire is None else str(attire),
        "SERAGAM_SEED_DEMO": "false",
    }
    command = [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--data-dir", str(data_dir)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("the server did not become ready within 120 s")


def request_latencies(url: str, key: str, jpeg: bytes, requests: int, concurrency: int) -> list[float]:
    def one(client: httpx.Client) -> float:
        start = time.perf_counter()
        response = client.post(url, data=FORM, files={"file": ("f.jpg", jpeg, "image/jpeg")})
        response.raise_for_status()
        return (time.perf_counter() - start) * 1000

    with httpx.Client(headers={"X-API-Key": key}, timeout=60) as client:
        one(client)  # warm-up
        with ThreadPoolExecutor(concurrency) as pool:
            return list(pool.map(lambda _: one(client), range(requests)))


def detect_latencies(detector: Detector, jpeg: bytes, runs: int) -> list[float]:
    image = decode_image(jpeg)
    detector.detect(image)  # warm-up
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        detector.detect(image)
        out.append((time.perf_counter() - start) * 1000)
    return out


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--attire", type=Path, default=DEFAULT_ATTIRE_WEIGHTS, help="two-stage classifier")
    parser.add_argument("--no-attire", action="store_true", help="the detector alone")
    parser.add_argument("--requests", type=int, default=20, help="requests per concurrency level")
    args = parser.parse_args()
    attire = None if args.no_attire else args.attire
    jpeg = frame_jpeg()
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder)
        key = prepare(Settings(data_dir=data_dir, model=args.model))
        port = free_port()
        server = serve(data_dir, args.model, attire, port)
        try:
            url = f"http://127.0.0.1:{port}/v1/frames"
            rows = {
                f"HTTP /v1/frames, concurrency {c}": request_latencies(url, key, jpeg, args.requests, c)
                for c in (1, 4)
            }
        finally:
            server.terminate()
            server.wait(30)
    bare = detect_latencies(load_detector(args.model, attire), jpeg, args.requests)
    rows = {"detect (bare, in process)": bare, **rows}
    print(f"{'720x1280 JPEG, ms':<40}{'p50':>8}{'p95':>8}{'p50 / bare':>12}")
    for name, values in rows.items():
        print(f"{name:<40}{p(values, 50):8.1f}{p(values, 95):8.1f}{p(values, 50) / p(bare, 50):12.2f}")


if __name__ == "__main__":
    main()
