"""The reasons and notes of a judgement in the reader's language.

The policy writes its reasons in English (the API's language, stored with each case). Their grammar is
the policy's own and small, so the web UI renders them in Bahasa Indonesia by the patterns below; a text
no pattern knows is shown as written, so a gap shows in English rather than breaking the page.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from api.policy.calendar import DAY_NAMES
from api.policy.rules import OFFICIAL_NOTE, SINGLE_FRAME_NOTE, UNREGISTERED_NOTE

HARI = dict(zip(DAY_NAMES, ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"), strict=True))
_DAY = "|".join(DAY_NAMES)

_FIXED = {
    "No surat tugas covers it, and only an agency's official account is exempt.": (
        "Tidak ada surat tugas yang mencakupnya, dan hanya akun resmi instansi yang dikecualikan."
    ),
    "No surat tugas covers it.": "Tidak ada surat tugas yang mencakupnya.",
    UNREGISTERED_NOTE: (
        "akun tidak ada di registri: tidak ada pemilik untuk dicocokkan, "
        "jadi tidak ada aturan yang diterapkan"
    ),
    OFFICIAL_NOTE: "akun resmi instansi: R1 tidak berlaku",
    SINGLE_FRAME_NOTE: (
        "satu bingkai: siaran sedang langsung pada saat itu, jadi R1 berlaku tanpa durasi minimumnya"
    ),
    "outside working hours": "di luar jam kerja",
    "outside rostered shifts": "di luar jadwal shift",
    "weekend": "akhir pekan",
}


def _span(text: str) -> str:
    return text.replace(" to ", " sampai ")


def _calendar(text: str) -> str:
    """A calendar reason, or several joined by "; "."""
    return "; ".join(_calendar_part(part) for part in text.split("; "))


def _calendar_part(text: str) -> str:
    if text in _FIXED:
        return _FIXED[text]
    for pattern, render in _CALENDAR:
        if match := pattern.fullmatch(text):
            return render(match)
    return text


def _label(prefix: str | None) -> str:
    return re.sub(r"\bagency\b", "instansi", prefix) if prefix else ""


Rendering = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]

_CALENDAR: list[Rendering] = [
    (
        re.compile(rf"(?P<label>.+: )?(?P<day>{_DAY}) working hours (?P<hours>.+)"),
        lambda m: f"{_label(m['label'])}jam kerja {HARI[m['day']]} {m['hours']}",
    ),
    (
        re.compile(
            rf"(?P<label>.+: )?(?P<day>{_DAY}) break (?P<hours>\S+)"
            r"(?P<counted> \(counted as working hours\))?"
        ),
        lambda m: (
            f"{_label(m['label'])}istirahat {HARI[m['day']]} {m['hours']}"
            + (" (dihitung jam kerja)" if m["counted"] else "")
        ),
    ),
    (
        re.compile(rf"no working hours on (?P<day>{_DAY})"),
        lambda m: f"tidak ada jam kerja pada hari {HARI[m['day']]}",
    ),
    (re.compile(r"national holiday: (?P<name>.+)"), lambda m: f"libur nasional: {m['name']}"),
    (re.compile(r"collective leave: (?P<name>.+)"), lambda m: f"cuti bersama: {m['name']}"),
    (re.compile(r"regional holiday: (?P<name>.+)"), lambda m: f"libur daerah: {m['name']}"),
    (re.compile(r"leave(?P<note>: .+)?"), lambda m: f"cuti{m['note'] or ''}"),
]

_SENTENCES: list[Rendering] = [
    (
        re.compile(
            r"Live on (?P<platform>\S+) account @(?P<handle>\S+), a personal account of (?P<person>.+), "
            r"from (?P<span>.+ WIB)\."
        ),
        lambda m: (
            f"Siaran langsung di akun {m['platform']} @{m['handle']}, akun pribadi milik {m['person']}, "
            f"pada {_span(m['span'])}."
        ),
    ),
    (
        re.compile(
            r"Official attire \((?P<classes>.*); score (?P<score>[\d.]+) over (?P<frames>\d+) frames\) "
            r"seen on (?P<platform>\S+) account @(?P<handle>\S+) from (?P<span>.+ WIB)\."
        ),
        lambda m: (
            f"Pakaian dinas resmi ({m['classes']}; skor {m['score']} dari {m['frames']} bingkai) terlihat di "
            f"akun {m['platform']} @{m['handle']} pada {_span(m['span'])}."
        ),
    ),
    (
        re.compile(r"For (?P<person>.+?) that time is working time: (?P<reason>.+)\."),
        lambda m: f"Bagi {m['person']}, waktu itu jam kerja: {_calendar(m['reason'])}.",
    ),
    (
        re.compile(
            r"For (?P<person>.+?) that time is not working time: (?P<reason>.+)\."
        ),  # cases opened before 2026-12
        lambda m: f"Bagi {m['person']}, waktu itu bukan jam kerja: {_calendar(m['reason'])}.",
    ),
    (
        re.compile(
            r"For (?P<person>.*?) ?(?P<span>\d{4}-\d\d-\d\d .+ WIB) is not working time: (?P<reason>.+)\."
        ),
        lambda m: f"Bagi {m['person']}, {_span(m['span'])} bukan jam kerja: {_calendar(m['reason'])}.",
    ),
]


def localise(text: str, language: str) -> str:
    """``text`` (a reason, a note or a calendar reason the policy wrote) in ``language`` ("id" or
    "en")."""
    if language != "id":
        return text
    for pattern, render in _SENTENCES:
        if match := pattern.fullmatch(text):
            return render(match)
    return _calendar(text)
