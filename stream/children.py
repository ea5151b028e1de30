"""Child processes that never outlive their parent (broker, demo worker and traffic)."""

from __future__ import annotations

import ctypes
import signal
import sys
import threading
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def die_with_parent_hook(sig: signal.Signals) -> Callable[[], None] | None:
    """A pre-exec hook that sends ``sig`` to the child when this process dies, or None.

    If the Python process is SIGKILLed, its own clean-up never runs and a child would
    live on, holding its port and memory. On Linux, ``PR_SET_PDEATHSIG`` makes the kernel
    signal it instead. The signal fires when the *thread* that started the child exits,
    so it is set only when starting from the main thread. The hook only calls an
    already-loaded C function, which is safe between fork and exec.
    """
    if not sys.platform.startswith("linux") or threading.current_thread() is not (
        threading.main_thread()
    ):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def hook() -> None:
        prctl(_PR_SET_PDEATHSIG, sig)

    return hook
