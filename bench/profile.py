"""Where a worker's time goes: py-spy samples, summed by function and by kind of work.

``py-spy record --format raw --function --threads`` writes one line per distinct stack:
``thread (TID): THREADNAME;frame;frame;... COUNT`` with frames ``func (file:firstline)``,
outermost first. Own time of a function = samples where it is the innermost frame;
inclusive time = samples where it is anywhere on the stack.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

#: Kinds of work. Walking a sample's stack from the innermost frame outwards, the first
#: frame of a module named here (project or library) decides its kind; the event loop's own
#: frames never do (they are on every stack).
PROJECT_KINDS: tuple[tuple[str, str], ...] = (
    ("stream/adapters/codec.py", "decode + schema validation"),
    ("stream/adapters/schema.py", "decode + schema validation"),
    ("stream/domain/sla_clocks.py", "SLA clocks"),
    ("stream/domain/calendars.py", "SLA clocks"),
    ("stream/domain/policies.py", "SLA clocks"),
    ("stream/domain/deadlines.py", "SLA clocks"),
    ("stream/domain/rules.py", "SLA clocks"),
    ("stream/domain/ticket.py", "ticket facts (re-derivation)"),
    ("stream/domain/facts.py", "ticket facts (re-derivation)"),
    ("stream/domain/records.py", "ticket facts (re-derivation)"),
    ("stream/domain/aggregates.py", "aggregates + windows"),
    ("stream/domain/windows.py", "aggregates + windows"),
    ("stream/domain/queue_cap.py", "aggregates + windows"),
    ("stream/domain/staffing.py", "staffing"),
    ("stream/wiring/staffing.py", "staffing"),
    ("stream/domain/erlang_c.py", "staffing"),
    ("stream/processing/entities.py", "state serialisation (to_dict)"),
    ("stream/wiring/codec.py", "state serialisation (to_dict)"),
    ("stream/processing/snapshot.py", "metrics / snapshot (bench polls)"),
    ("stream/adapters/exporter.py", "metrics / snapshot (bench polls)"),
    ("stream/wiring/web.py", "metrics / snapshot (bench polls)"),
    ("stream/processing/routing.py", "processor: routing, accounting"),
    ("stream/processing/processor.py", "processor: routing, accounting"),
    ("stream/processing/messages.py", "processor: routing, accounting"),
    ("stream/wiring/runtime.py", "runtime: batch loop, effects -> Faust"),
)
LIBRARY_KINDS: tuple[tuple[str, str], ...] = (
    ("faust/topics.py", "Faust: produce (changelog writes, send_soon)"),
    ("faust/transport/producer.py", "Faust: produce (changelog writes, send_soon)"),
    ("faust/tables/", "Faust: produce (changelog writes, send_soon)"),
    ("faust/", "Faust: consume, stream, events, acks, commit"),
    ("mode/", "Faust: consume, stream, events, acks, commit"),
    ("aiokafka/producer/", "aiokafka: produce requests"),
    ("aiokafka/record/", "aiokafka: record (de)serialisation"),
    ("aiokafka/consumer/", "aiokafka: fetch"),
    ("aiokafka/", "aiokafka: client, connection, protocol"),
    ("kafka/", "aiokafka: client, connection, protocol"),
    ("aiohttp/", "aiohttp (web server)"),
    ("orjson", "decode + schema validation"),
)
#: Frames of these never decide a sample's kind: they are at the root of every stack.
ROOTS = ("mode/worker.py", "stream/cli/", "<frozen runpy>")


@dataclass
class Profile:
    """Sample counts from one py-spy recording."""

    total: int = 0
    #: Samples waiting in select() or in an idle thread pool (or with no Python frame).
    idle: int = 0
    own: collections.Counter[str] = field(default_factory=collections.Counter)
    inclusive: collections.Counter[str] = field(default_factory=collections.Counter)
    kinds: collections.Counter[str] = field(default_factory=collections.Counter)
    threads: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def busy(self) -> int:
        """Samples where a thread was doing work."""
        return self.total - self.idle

    def top_own(self, n: int) -> list[tuple[str, int, int]]:
        """The ``n`` functions with the most own samples: (function, own, inclusive)."""
        return [(fn, c, self.inclusive[fn]) for fn, c in self.own.most_common(n)]

    def top_project(self, n: int) -> list[tuple[str, int, int]]:
        """The ``n`` project functions (``stream/``) with the most inclusive samples."""
        ranked = [(fn, c) for fn, c in self.inclusive.most_common()
                  if "(stream/" in fn and "stream/cli/" not in fn
                  and "create_app.<locals>.process" not in fn]  # fmt: skip
        return [(fn, self.own[fn], c) for fn, c in ranked[:n]]


# The checkout's root, wherever it is: frames inside it are shown relative to it.
_REPO = str(Path(__file__).resolve().parents[1])


def _short(frame: str) -> str:
    """``func (path/to/mod.py:12)`` with the path shortened to what follows site-packages."""
    func, _, where = frame.partition(" (")
    where = where.rstrip(")")
    for marker in ("site-packages/", f"{_REPO}/", "python3.11/"):
        if marker in where:
            where = where.split(marker, 1)[1]
    return f"{func} ({where})"


#: Innermost frames that mean "waiting": the event loop's select(), an idle pool thread.
_WAITING = ("EpollSelector.select", "_worker (concurrent/futures/thread.py")

_THREADS = {
    "MainThread": "MainThread (event loop: agent, timers, web, producer)",
    "Thread-1": "Thread-1 (Faust's consumer thread: aiokafka fetches)",
}


def _kind(frames: list[str]) -> str:
    """The innermost frame that belongs to a known module decides (see the tables above)."""
    for frame in reversed(frames):
        if any(r in frame for r in ROOTS):
            continue
        for prefix, kind in PROJECT_KINDS:
            if prefix in frame:
                return kind
        for prefix, kind in LIBRARY_KINDS:
            if prefix in frame:
                return kind
    if frames and ("asyncio/" in frames[-1] or "selectors.py" in frames[-1]):
        return "asyncio event loop (callbacks, select, socket I/O)"
    return "other: " + (frames[-1] if frames else "?")


def parse(path: Path) -> Profile:
    """Read a raw (collapsed) py-spy recording."""
    prof = Profile()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        head, _, rest = stack.partition(": ")
        parts = rest.split(";")
        thread, frames = parts[0], [_short(f) for f in parts[1:]]
        prof.total += count
        if not frames or any(w in frames[-1] for w in _WAITING):
            prof.idle += count
            continue
        prof.threads[_THREADS.get(thread, thread or head)] += count
        prof.own[frames[-1]] += count
        for fn in set(frames):
            prof.inclusive[fn] += count
        prof.kinds[_kind(frames)] += count
    return prof


def py_spy() -> str | None:
    """The py-spy executable next to this interpreter, or on PATH."""
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def record(
    pid: int, out: Path, duration_s: float, rate_hz: int = 100
) -> subprocess.Popen[bytes] | None:
    """Start py-spy on ``pid`` in the background (raw format); None when py-spy is missing."""
    exe = py_spy()
    if exe is None:
        return None
    # Blocking mode (py-spy pauses the process for each sample): exact stacks and reliable
    # idle detection; the profiled run is not timed, so its overhead does not matter.
    args = [exe, "record", "--pid", str(pid), "--duration", str(max(1, round(duration_s))),
            "--rate", str(rate_hz), "--format", "raw", "--function", "--threads",
            "--output", str(out)]  # fmt: skip
    log = out.with_suffix(".log").open("wb")
    try:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    finally:
        log.close()


def report(prof: Profile, top: int = 15) -> str:
    """The profile as text: kinds of work, threads, and the top functions by own time."""
    t = max(prof.busy, 1)
    lines = [f"  {prof.total} samples, {prof.idle} of them idle (select, idle pool thread); shares "
             f"below are of the {prof.busy} busy ones"]  # fmt: skip
    lines.append("  by kind of work (innermost frame of a known module decides):")
    for kind, c in prof.kinds.most_common():
        lines.append(f"    {c / t:6.1%}  {kind}")
    lines.append("  by thread:")
    for thread, c in prof.threads.most_common():
        lines.append(f"    {c / t:6.1%}  {thread}")
    lines.append(f"  top {top} functions by own time (own %, inclusive %):")
    for fn, own, incl in prof.top_own(top):
        lines.append(f"    {own / t:6.1%} {incl / t:6.1%}  {fn}")
    lines.append(f"  top {top} project functions by inclusive time (own %, inclusive %):")
    for fn, own, incl in prof.top_project(top):
        lines.append(f"    {own / t:6.1%} {incl / t:6.1%}  {fn}")
    return "\n".join(lines)
