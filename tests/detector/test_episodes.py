from __future__ import annotations

import pytest

from detector.episodes import (
    AttireEpisode,
    EpisodeConfig,
    EpisodeTracker,
    OutOfOrderFrameError,
    aggregate_episodes,
)

Run = tuple[int, int, float]  # first second, last second (inclusive), score in that span


def one_per_second(runs: list[Run], until: int) -> list[tuple[float, float, set[str]]]:
    """A clip sampled at 1 fps, scoring 0 outside the runs, ``pdh_khaki`` inside them."""
    scores = dict.fromkeys(range(until + 1), 0.0)
    for first, last, score in runs:
        scores.update(dict.fromkeys(range(first, last + 1), score))
    return [(float(t), s, {"pdh_khaki"} if s else set()) for t, s in scores.items()]


@pytest.mark.parametrize(
    ("runs", "config", "spans"),
    [
        pytest.param([(5, 5, 0.95)], EpisodeConfig(), [], id="single spike"),
        pytest.param([(5, 14, 0.9)], EpisodeConfig(), [(5, 14)], id="sustained run"),
        pytest.param([(5, 14, 0.9), (30, 39, 0.9)], EpisodeConfig(), [(5, 14), (30, 39)], id="long gap"),
        pytest.param([(5, 14, 0.9), (16, 25, 0.9)], EpisodeConfig(), [(5, 25)], id="one missed frame"),
        pytest.param([(5, 7, 0.9)], EpisodeConfig(), [], id="3 of 10 is not enough"),
        pytest.param([(0, 1, 0.9)], EpisodeConfig(), [(0, 1)], id="clip start: 2 of 3"),
        pytest.param([(0, 0, 0.9)], EpisodeConfig(), [], id="clip start: 1 of 3"),
        pytest.param([(5, 14, 0.7)], EpisodeConfig(), [(5, 14)], id="exactly confirm_score"),
        pytest.param([(5, 14, 0.69)], EpisodeConfig(), [], id="just below confirm_score"),
        pytest.param([(5, 14, 0.49)], EpisodeConfig(confirm_score=0.4), [], id="below min_score is 0"),
        pytest.param([(5, 14, 0.5)], EpisodeConfig(confirm_score=0.4), [(5, 14)], id="at min_score"),
        pytest.param([(5, 9, 0.9)], EpisodeConfig(window=5), [(5, 9)], id="short window"),
        pytest.param(
            [(5, 14, 0.9), (25, 34, 0.9)], EpisodeConfig(end_after_s=15), [(5, 34)], id="gap bridged"
        ),
        pytest.param(
            [(5, 14, 0.9), (25, 34, 0.9)],
            EpisodeConfig(end_after_s=5),
            [(5, 14), (25, 34)],
            id="gap too long",
        ),
        # A gap of gap_frames (3) frames without attire ends a run: the frames on its far side count only
        # once they confirm on their own. The median alone (a lag of about 5 frames) would take them in.
        pytest.param(
            [(8, 8, 0.82), (13, 50, 0.94)], EpisodeConfig(), [(13, 50)], id="lone frame, gap, sustained run"
        ),
        pytest.param(
            [(0, 9, 0.9), (13, 13, 0.9)], EpisodeConfig(), [(0, 9)], id="sustained run, gap, lone frame"
        ),
        pytest.param(
            [(0, 19, 0.9), (24, 26, 0.9)], EpisodeConfig(), [(0, 19)], id="sustained run, gap, 3 frames"
        ),
        pytest.param(
            [(0, 19, 0.9), (24, 35, 0.9)], EpisodeConfig(), [(0, 35)], id="sustained runs across a gap"
        ),
        pytest.param([(0, 19, 0.9), (22, 22, 0.9)], EpisodeConfig(), [(0, 22)], id="2 missed frames"),
        pytest.param(
            [(5, 14, 0.9), (25, 25, 0.9)], EpisodeConfig(end_after_s=15), [(5, 14)], id="lone frame bridged"
        ),
        pytest.param(
            [(0, 9, 0.9), (13, 13, 0.9)],
            EpisodeConfig(gap_frames=4),
            [(0, 13)],
            id="gap shorter than gap_frames",
        ),
    ],
)
def test_episode_spans(runs: list[Run], config: EpisodeConfig, spans: list[tuple[int, int]]) -> None:
    episodes = aggregate_episodes(one_per_second(runs, until=50), config)
    assert [(e.start_s, e.end_s) for e in episodes] == spans


def test_open_episode_is_closed_by_finish() -> None:
    episodes = aggregate_episodes(one_per_second([(5, 20, 0.9)], until=20))
    assert [(e.start_s, e.end_s) for e in episodes] == [(5, 20)]


@pytest.mark.parametrize(
    ("scores", "median", "peak_time_s"),
    [
        ([0.8, 0.9, 1.0, 0.7, 0.75, 0.85, 0.95, 0.9, 0.8, 0.72], 0.825, 7.0),
        ([0.9, 0.8, 0.7, 0.99, 0.6, 0.9, 0.8, 0.9, 0.75], 0.8, 8.0),
    ],
)
def test_episode_score_is_median_of_its_evidence(
    scores: list[float], median: float, peak_time_s: float
) -> None:
    samples = [(float(5 + i), s, {"pdh_khaki"}) for i, s in enumerate(scores)]
    samples += [(float(t), 0.0, set()) for t in range(5 + len(scores), 30)]
    (episode,) = aggregate_episodes(samples)
    assert episode.score == pytest.approx(median)
    assert episode.peak_time_s == peak_time_s
    assert episode.frame_count == len(scores)


def test_episode_classes_are_the_union_of_its_evidence() -> None:
    labels = [{"pdh_khaki"}, {"name_plate"}, {"pdh_khaki", "korpri_badge"}, set()] * 3
    samples = [(float(t), 0.9 if classes else 0.0, classes) for t, classes in enumerate(labels)]
    samples.append((12.0, 0.3, {"emblem_patch"}))  # below min_score: not evidence
    samples += [(float(t), 0.0, set()) for t in range(13, 25)]
    (episode,) = aggregate_episodes(samples)
    assert episode.classes == ("korpri_badge", "name_plate", "pdh_khaki")


def test_update_returns_the_episode_it_closes() -> None:
    tracker = EpisodeTracker()
    closed = {t: tracker.update(t, s, c) for t, s, c in one_per_second([(5, 14, 0.9)], until=30)}
    closing = [t for t, episode in closed.items() if episode is not None]
    assert closing == [19.0]  # 5 of the last 10 frames empty: median (0 + 0.9) / 2 < 0.7
    assert isinstance(closed[19.0], AttireEpisode)
    assert tracker.finish() == [closed[19.0]]


@pytest.mark.parametrize(
    ("times", "error"), [([1.0, 1.0, 2.0], None), ([1.0, 2.0, 1.5], OutOfOrderFrameError)]
)
def test_frames_must_come_in_time_order(times: list[float], error: type[Exception] | None) -> None:
    tracker = EpisodeTracker()
    for time_s in times[:-1]:
        tracker.update(time_s, 0.9, {"pdh_khaki"})
    if error is None:
        tracker.update(times[-1], 0.9, {"pdh_khaki"})
        return
    with pytest.raises(error, match="time order"):
        tracker.update(times[-1], 0.9, {"pdh_khaki"})
    assert issubclass(error, ValueError)


def test_a_frame_sharing_the_closing_time_does_not_reopen_an_empty_episode() -> None:
    """Frames with equal times are allowed (some files repeat timestamps): one that confirms again at
    the closed episode's end time has no evidence of its own after that end, and must not open one."""
    tracker = EpisodeTracker()
    for time_s, score in [(0.0, 0.9), (1.0, 0.9), (1.0, 0.0), (1.0, 0.0)]:
        tracker.update(time_s, score, {"pdh_khaki"} if score else ())
    tracker.update(1.0, 0.9, {"pdh_khaki"})
    for time_s in range(2, 30):
        tracker.update(float(time_s), 0.0)

    assert [(e.start_s, e.end_s, e.frame_count) for e in tracker.finish()] == [(0.0, 1.0, 2)]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({}, EpisodeConfig()),
        ({"window": 5, "confirm_score": 0.8}, EpisodeConfig(window=5, confirm_score=0.8)),
        ({"window": 5.0, "end_after_s": 3}, EpisodeConfig(window=5, end_after_s=3.0)),
        ({"windw": 5}, "unknown episode settings"),
        ({"window": 0}, "window=0 must be at least 1"),
        # padding to min_window values would outlast a shorter window: no episode would ever open
        ({"window": 1}, r"min_window=3 must be from 1 to window \(1\)"),
        ({"window": 1, "min_window": 1}, EpisodeConfig(window=1, min_window=1)),
        ({"window": 7.9}, "window=7.9 must be a whole number"),
        ({"window": True}, "window=True must be a whole number"),
        ({"end_after_s": float("inf")}, "end_after_s=inf must be a number"),
        ({"confirm_score": "0.8"}, "confirm_score='0.8' must be a number"),
        ({"confirm_score": 1.5, "min_score": -0.1}, "min_score=-0.1 must be in"),
        ({"end_after_s": -1}, "end_after_s=-1.0 must be 0 or more"),
        ({"gap_frames": 2}, EpisodeConfig(gap_frames=2)),
        ({"gap_frames": 0}, "gap_frames=0 must be at least 1"),
    ],
)
def test_config_from_dict(raw: dict, expected: EpisodeConfig | str) -> None:
    if isinstance(expected, EpisodeConfig):
        assert EpisodeConfig.from_dict(raw) == expected
        return
    with pytest.raises(ValueError, match=expected):
        EpisodeConfig.from_dict(raw)
