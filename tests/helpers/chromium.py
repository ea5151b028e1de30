"""Headless Chromium from its command line, for the browser tests of the wall page.

The plain CLI is enough and adds no dependency: ``--virtual-time-budget`` runs the page's
clock only while no fetch is pending, so the page's script loads, polls the APIs and
renders before ``--dump-dom`` prints the live DOM or ``--screenshot`` takes the picture.
(Playwright and Selenium would each bring a driver and, for Playwright, a browser download
that an offline CI cannot do.)

The browser is Debian's ``chromium`` package, installed by ``make deps``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

BINARIES = ("chromium", "chromium-browser")

# --no-sandbox: Chromium refuses to start as root with its sandbox, and CI containers run
# as root. The --disable-* and --no-first-run flags keep the browser from calling Google
# services (updates, sync, metrics, field trials): the only traffic is to the page under
# test, which its Content-Security-Policy limits to its own origin anyway.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
)

WINDOW = (1920, 1080)


def chromium_binary() -> str:
    """The Chromium executable on PATH; fails the test with the way to install it."""
    for name in BINARIES:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(
        f"headless Chromium not found (looked for {' or '.join(BINARIES)} on PATH): run "
        "`make deps`, which installs the Debian package chromium",
        pytrace=False,
    )


def _run(url: str, *args: str, window: tuple[int, int], timeout_s: float) -> str:
    """Run Chromium on ``url`` with a fresh profile; its stdout. Leaves no process behind.

    A fresh ``--user-data-dir`` per run: no cache, cookies or service worker from an
    earlier run can answer instead of the server.
    """
    with tempfile.TemporaryDirectory(prefix="sp-chromium-") as profile:
        cmd = [chromium_binary(), *FLAGS, f"--user-data-dir={profile}",
               f"--window-size={window[0]},{window[1]}", *args, url]  # fmt: skip
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)  # fmt: skip
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            raise AssertionError(
                f"chromium did not finish within {timeout_s}s on {url}; stderr tail:\n"
                f"{err.decode(errors='replace')[-2000:]}"
            ) from None
        finally:
            with contextlib.suppress(ProcessLookupError):  # helpers left in its group
                os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode != 0:
            raise AssertionError(f"chromium exited with {proc.returncode} on {url}; stderr "
                                 f"tail:\n{err.decode(errors='replace')[-2000:]}")  # fmt: skip
        return out.decode()


def dump_dom(url: str, *, budget_ms: int = 3000, window: tuple[int, int] = WINDOW,
             timeout_s: float = 60) -> str:  # fmt: skip
    """The page's DOM as serialized HTML after ``budget_ms`` of (virtual) page time."""
    return _run(url, f"--virtual-time-budget={budget_ms}", "--dump-dom", window=window,
                timeout_s=timeout_s)  # fmt: skip


def screenshot(url: str, path: Path, *, budget_ms: int = 3000,
               window: tuple[int, int] = WINDOW, timeout_s: float = 60) -> Path:  # fmt: skip
    """A PNG of the viewport (``window``) after ``budget_ms`` of (virtual) page time."""
    _run(url, f"--virtual-time-budget={budget_ms}", f"--screenshot={path}", window=window,
         timeout_s=timeout_s)  # fmt: skip
    if not path.is_file():
        raise AssertionError(f"chromium wrote no screenshot to {path}")
    return path


@dataclass(frozen=True)
class Png:
    """A decoded 8-bit RGB or RGBA PNG: its size and one ``bytes`` row per line (RGB)."""

    width: int
    height: int
    rows: list[bytes]

    def colours(self) -> Counter[bytes]:
        """Pixels per RGB colour."""
        counts: Counter[bytes] = Counter()
        for row in self.rows:
            counts.update(bytes(px) for px in zip(row[0::3], row[1::3], row[2::3], strict=True))
        return counts


def read_png(path: Path) -> Png:
    """Decode a non-interlaced 8-bit RGB/RGBA PNG (what Chromium writes), alpha dropped.

    A few lines of zlib and the five PNG row filters instead of a Pillow dependency; about
    two seconds for a 1920x1080 screenshot.
    """
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
    assert header is not None, f"{path} has no IHDR"
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    assert len(raw) == height * (stride + 1), "truncated image data"
    prev = bytearray(stride)
    rows: list[bytes] = []
    for y in range(height):
        start = y * (stride + 1)
        line = _unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), prev, bpp)
        if bpp == 3:
            rows.append(bytes(line))
        else:
            rgb = bytearray(width * 3)
            for channel in range(3):
                rgb[channel::3] = line[channel::4]
            rows.append(bytes(rgb))
        prev = line
    return Png(width, height, rows)


def _unfilter(kind: int, line: bytearray, prev: bytearray, bpp: int) -> bytearray:
    """Undo one row's PNG filter (RFC 2083, 6.2)."""
    if kind == 1:  # Sub
        for i in range(bpp, len(line)):
            line[i] = (line[i] + line[i - bpp]) & 255
    elif kind == 2:  # Up
        line = bytearray((a + b) & 255 for a, b in zip(line, prev, strict=True))
    elif kind == 3:  # Average
        for i in range(len(line)):
            left = line[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
    elif kind == 4:  # Paeth
        for i in range(len(line)):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    return line
