"""Ctrl-C while the command line is still loading its libraries ends it quietly (exit 130),
even where a compiled library would turn the interrupt into an ImportError of its own."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Runs `python -m pipelines snapshots` with one import that behaves as scipy's compiled modules
# do: Ctrl-C arriving during it comes out as "ImportError: initialization failed". The Ctrl-C
# is sent from inside that import, so it lands there every time.
_LAUNCH = textwrap.dedent(
    """
    import os, runpy, signal, sys, time

    class CompiledInit:
        def find_spec(self, name, path, target=None):
            if name != "pipelines.families":
                return None
            sys.meta_path.remove(self)
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)
            except KeyboardInterrupt:
                raise ImportError("initialization failed") from None
            return None

    sys.meta_path.insert(0, CompiledInit())
    sys.argv = ["pipelines", "snapshots"]
    runpy.run_module("pipelines", run_name="__main__", alter_sys=True)
    """
)


def test_ctrl_c_inside_a_compiled_import_while_loading_exits_quietly(isolated_data) -> None:
    run = subprocess.run([sys.executable, "-c", _LAUNCH], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in run.stderr, run.stderr[-2000:]
    assert run.returncode == 130, (run.returncode, run.stderr[-500:])


@pytest.mark.parametrize("blocked", [False, True])
def test_the_callers_signal_mask_is_put_back_after_loading(isolated_data, blocked) -> None:
    launch = textwrap.dedent(
        f"""
        import atexit, runpy, signal, sys

        if {blocked}:
            signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGINT}})
        atexit.register(lambda: print("blocked", signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])))
        sys.argv = ["pipelines", "snapshots"]
        runpy.run_module("pipelines", run_name="__main__", alter_sys=True)
        """
    )
    run = subprocess.run([sys.executable, "-c", launch], capture_output=True, text=True, timeout=120)
    assert run.stdout.strip().splitlines()[-1] == f"blocked {blocked}", (run.stdout, run.stderr[-500:])
