"""Whether Ctrl-C (or a scheduler's SIGTERM) reached this process, for code that must not
take a library's error for the whole story: the command line, and the report runner between
reports."""

from __future__ import annotations

import os
import signal


class _Signals:
    """Whether Ctrl-C (or a scheduler's SIGTERM) reached this process, whatever became of the
    KeyboardInterrupt it raised: a library running at that moment can turn it into an error of
    its own that keeps no trace of it (Polars, inside a cast: "'<unprintable str object>' is
    not a Polars data type"). The interpreter's C-level handler writes each signal's number to
    the wake-up pipe before any Python handler runs, so Python's own SIGINT handler stays:
    asyncio, under papermill, only takes Ctrl-C over cleanly from that one. Once noted, every
    later error of the process counts as the interrupt: no command carries on after Ctrl-C.
    An event loop that adds signal handlers of its own (loop.add_signal_handler) takes the
    wake-up pipe while it runs; papermill's client does not."""

    def __init__(self) -> None:
        self._pipe: int | None = None
        self._seen = False

    def watch(self) -> None:
        """From now on, note arriving signals (from the main thread only, as Python allows;
        elsewhere the errors' own words are all there is to go by)."""
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        try:
            signal.set_wakeup_fd(write, warn_on_full_buffer=False)
        except ValueError:
            os.close(read)
            os.close(write)
            return
        self._pipe = read

    def interrupted(self) -> bool:
        while not self._seen and self._pipe is not None:
            try:
                arrived = os.read(self._pipe, 4096)
            except BlockingIOError:  # nothing (more) arrived
                break
            if not arrived:
                break
            self._seen = bool(set(arrived) & {signal.SIGINT, signal.SIGTERM})
        return self._seen


signals = _Signals()
