"""What a phone livestream does to a frame: selfie mirroring, ring-light casts, beauty smoothing,
blur, compression, and the app's overlays (LIVE badge, username, comments, hearts).

``overlay`` returns the mask of pixels it covered, so labels hidden under it can be dropped.
"""

from __future__ import annotations

import cv2
import numpy as np

WORDS = (
    "mantap",
    "halo kak",
    "wkwk",
    "semangat",
    "lanjut",
    "keren",
    "salam",
    "dari mana",
    "gas",
    "sehat selalu",
)


def camera_effects(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ring-light colour cast, exposure, beauty smoothing and motion or focus blur."""
    out = frame.astype(np.float32)
    cast = 1 + rng.uniform(-0.12, 0.12, 3)
    out = out * cast * rng.uniform(0.75, 1.25) + rng.uniform(-20, 20)
    if rng.random() < 0.4:  # ring light: bright warm or cool centre
        h, w = frame.shape[:2]
        yy, xx = np.mgrid[0:h, 0:w]
        r = ((xx - w / 2) ** 2 + (yy - h * 0.35) ** 2) / (0.5 * (w**2 + h**2))
        glow = (
            np.exp(-r * 4)[..., None]
            * rng.uniform(15, 45)
            * np.array(rng.choice([(1, 1, 1.2), (1.2, 1.1, 1)]))
        )
        out = out + glow
    out = np.clip(out, 0, 255).astype(np.uint8)
    if rng.random() < 0.3:
        out = cv2.bilateralFilter(out, 7, 40, 7)
    if rng.random() < 0.25:
        k = int(rng.integers(3, 11))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1 / k
        angle = rng.uniform(0, 180)
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), angle, 1)
        out = cv2.filter2D(out, -1, cv2.warpAffine(kernel, rot, (k, k)))
    elif rng.random() < 0.2:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.8, 2.0))
    return out


def compress(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Streaming compression: a low-bitrate downscale round trip and JPEG blocking."""
    h, w = frame.shape[:2]
    if rng.random() < 0.4:
        f = rng.uniform(0.35, 0.7)
        small = cv2.resize(frame, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
        frame = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 85))])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else frame


def _heart(
    canvas: np.ndarray, mask: np.ndarray, c: tuple[int, int], s: int, colour: tuple[int, int, int]
) -> None:
    x, y = c
    for target, col in ((canvas, colour), (mask, 255)):
        cv2.circle(target, (x - s // 2, y), s // 2 + 1, col, -1)
        cv2.circle(target, (x + s // 2, y), s // 2 + 1, col, -1)
        cv2.fillPoly(target, [np.array([(x - s, y + 1), (x + s, y + 1), (x, y + s + s // 2)], np.int32)], col)


def overlay(frame: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Draw app overlays in place; return the mask (uint8 0/255) of covered pixels."""
    h, w = frame.shape[:2]
    mask = np.zeros((h, w), np.uint8)
    u = w / 720
    font = cv2.FONT_HERSHEY_SIMPLEX
    if rng.random() < 0.85:  # LIVE badge and username, top left
        x1, y1 = int(20 * u), int(40 * u)
        cv2.rectangle(frame, (x1, y1), (x1 + int(90 * u), y1 + int(40 * u)), (60, 40, 230), -1)
        cv2.putText(
            frame,
            "LIVE",
            (x1 + int(12 * u), y1 + int(30 * u)),
            font,
            0.9 * u,
            (255, 255, 255),
            max(1, int(2 * u)),
        )
        name = "@" + "".join(rng.choice(list("abcdefghijklmnoprstuwy_0123456789"), int(rng.integers(5, 12))))
        cv2.putText(
            frame,
            name,
            (x1 + int(105 * u), y1 + int(30 * u)),
            font,
            0.8 * u,
            (255, 255, 255),
            max(1, int(2 * u)),
        )
        mask[y1 : y1 + int(40 * u), x1 : x1 + int(330 * u)] = 255
    if rng.random() < 0.7:  # comments, lower left, on a translucent band
        n = int(rng.integers(2, 6))
        line = int(38 * u)
        top = h - int(140 * u) - n * line
        band = frame[top : top + n * line, : int(w * 0.7)]
        band[:] = (band * 0.55).astype(np.uint8)
        mask[top : top + n * line, : int(w * 0.7)] = 255
        for i in range(n):
            text = f"user{int(rng.integers(10, 999))}: {rng.choice(WORDS)}"
            cv2.putText(
                frame,
                text,
                (int(14 * u), top + (i + 1) * line - int(10 * u)),
                font,
                0.7 * u,
                (255, 255, 255),
                max(1, int(1.5 * u)),
                cv2.LINE_AA,
            )
    if rng.random() < 0.6:  # floating hearts, right edge
        for _ in range(int(rng.integers(3, 10))):
            c = (int(w - rng.uniform(30, 120) * u), int(h - rng.uniform(150, 600) * u))
            colour = tuple(int(v) for v in rng.choice([(90, 60, 240), (180, 90, 250), (60, 200, 250)]))
            _heart(frame, mask, c, int(rng.uniform(10, 24) * u), colour)
    return mask
