"""A papermill engine that runs report after report in one warm Jupyter kernel per process.

Starting a kernel and importing polars, duckdb and altair costs over a second a notebook, most
of a small report's time; connecting a new client to it costs another 0.2-0.4 s (jupyter_client
waits for its first IOPub message), so the client stays connected too. Each report still
starts clean: before its first cell the kernel's variables are deleted (IPython's reset), the
environment variables are set back to the runner's, Polars' display settings to their
defaults, the working folder is set and the execution counter starts again at 1, so its
figures are those a fresh kernel gives (tests/reporting/test_runner.py checks this). Imported
modules stay loaded; that is the saving, and also the limit: other settings a notebook changes
inside a module reach the reports after it, so notebooks set what they rely on (each sets the
chart theme itself). A kernel that died is replaced before the next report, and the client
after it raised (a dead kernel, a timeout; a failing cell does not). The runner calls
`shutdown` when a batch ends, so no kernel outlives its run and each run's kernel sees that
run's environment.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import psutil
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger

from pipelines.core.stale import clear_stale

ENGINE = "warm"
_lock = threading.Lock()
_kernels: dict[str, AsyncKernelManager] = {}
_clients: dict[str, tuple[AsyncKernelManager, Any]] = {}  # each kernel's connected client
_SOCKET = "kernel"  # the sockets' name in the kernel's private folder
_FOLDER = "card-insights-kernel-"

# reset(new_session=True), unlike %reset, also starts a new history session, so the execution
# counter can restart at 1 without clashing with the lines IPython already logged. The reset
# collects garbage before it clears the namespace, walking every object of the loaded
# libraries (Altair's schema alone is large) at each report. So once the namespace and the last
# error (its traceback holds the failed report's frames) are cleared, what is left is
# collected and the survivors frozen: the next collections walk only the objects made since,
# and nothing a report made is frozen with the libraries.
_RESET = """\
get_ipython().reset(new_session=True)
import gc as _gc, os as _os, sys as _sys
for _name in ("last_type", "last_value", "last_traceback", "last_exc"):
    if hasattr(_sys, _name):
        delattr(_sys, _name)
get_ipython().InteractiveTB.tb = None
get_ipython().last_execution_result = None
_gc.collect()
_gc.freeze()
_os.chdir({cwd!r})
_os.environ.clear()
_os.environ.update({env!r})
if "polars" in _sys.modules:
    _sys.modules["polars"].Config.restore_defaults()
del _gc, _os, _sys, _name
"""


class _Client(PapermillNotebookClient):
    """Papermill's client on a kernel it does not own: clean it first, keep it running after."""

    def __init__(self, nb_man: Any, km: AsyncKernelManager, cwd: str, env: dict[str, str], **kw: Any) -> None:
        super().__init__(nb_man, km=km, **kw)
        self.cwd = cwd
        self.env = env

    async def async_start_new_kernel_client(self) -> Any:
        km, kc = _clients.get(self.kernel_name, (None, None))
        if km is self.km and kc is not None:
            self.kc = kc
        else:
            kc = await super().async_start_new_kernel_client()
            _clients[self.kernel_name] = (self.km, kc)
        reply = await self.async_wait_for_reply(
            kc.execute(_RESET.format(cwd=self.cwd, env=self.env), silent=True, store_history=False)
        )
        if reply is None or reply["content"]["status"] != "ok":
            raise RuntimeError(f"could not reset the warm kernel before the notebook: {reply}")
        return kc

    # nbclient binds the sync name to its own coroutine; rebind it to this one.
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def execute(self, **kwargs: Any) -> Any:
        try:
            result = super().execute(**kwargs)
        except Exception:
            # The client raised (a kernel that died, a timeout), not a cell (papermill records
            # those): it may leave replies or a busy kernel behind, so a new one next time.
            _forget_client(self.kernel_name)
            self.kc = None
            raise
        except BaseException:
            # Ctrl-C: no goodbye to the kernel. A graceful stop_channels can wait forever in
            # zmq's context termination; the runner kills the kernel instead.
            _forget_client(self.kernel_name, close=False)
            self.kc = None
            raise
        self.kc = None  # stays connected, in _clients, for the next report
        return result


def _forget_client(kernel_name: str, close: bool = True) -> None:
    _, kc = _clients.pop(kernel_name, (None, None))
    if kc is not None and close:
        kc.stop_channels()


def _stop(kernel_name: str, kill: bool = False) -> None:
    _forget_client(kernel_name, close=not kill)
    km = _kernels.pop(kernel_name)
    if kill:
        pid = getattr(km.provisioner, "pid", None)
        with contextlib.suppress(psutil.Error, TypeError, ValueError):
            psutil.Process(pid).kill()
    elif run_sync(km.is_alive)():
        run_sync(km.shutdown_kernel)(now=True)
    with contextlib.suppress(OSError):
        km.cleanup_connection_file()
    shutil.rmtree(os.path.dirname(km.ip), ignore_errors=True)


def _kernel(kernel_name: str, cwd: str) -> AsyncKernelManager:
    with _lock:
        km = _kernels.get(kernel_name)
        if km is None or not run_sync(km.is_alive)():
            if km is not None:
                _stop(kernel_name)
            # Unix sockets in a private folder rather than TCP ports: nothing listens on the network.
            # The folder's name ends in this process's ID, so that a later run removes the
            # folders of processes that were killed.
            clear_leftovers()
            sockets = os.path.join(
                tempfile.mkdtemp(prefix=_FOLDER, suffix=f"-{os.getpid()}", dir=socket_root()), _SOCKET
            )
            km = AsyncKernelManager(kernel_name=kernel_name, transport="ipc", ip=sockets)
            run_sync(km.start_kernel)(cwd=cwd)
            _kernels[kernel_name] = km
        return km


#: A Unix socket's path holds at most 107 bytes. A kernel's is the root, then
#: /<_FOLDER><8 random>-<pid up to 7 digits>/<_SOCKET>-<channel up to 3 digits>.
_ROOT_MAX = 107 - (1 + len(_FOLDER) + 8 + 1 + 7 + 1 + len(_SOCKET) + 1 + 3)


def socket_root() -> str:
    """Where kernels' socket folders go: the temporary folder, or /tmp when TMPDIR is so deep
    that a socket's path would pass the limit and the kernel could not start."""
    root = tempfile.gettempdir()
    return root if len(root) <= _ROOT_MAX else "/tmp"


def clear_leftovers() -> None:
    """Remove the socket folders of kernels whose process is gone (a run that was killed)."""
    clear_stale(Path(socket_root()), _FOLDER)


def shutdown(kill: bool = False) -> None:
    """Stop this process's warm kernels (at the end of a batch, and when a worker exits);
    `kill` ends them at once, without a goodbye that could hang (after Ctrl-C)."""
    with _lock:
        for kernel_name in list(_kernels):
            _stop(kernel_name, kill)


class WarmKernelEngine(NBClientEngine):
    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: int = 60,
        execution_timeout: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """As NBClientEngine's, on this process's warm kernel for `kernel_name`, whose
        environment is this process's with `kernel_env` added; papermill has already changed
        into the notebook's working folder."""
        for unused in ("input_path", "timeout", "startup_timeout", "km"):
            kwargs.pop(unused, None)
        env = {**os.environ, **kwargs.pop("kernel_env", {})}
        cwd = os.getcwd()
        # papermill writes the whole notebook before and after every cell, for watching long
        # notebooks: some 20 writes of 10 ms a report, a tenth of its time. Here it writes at
        # most every `autosave_cell_every` seconds (30) while the cells run, as its own
        # autosave does within a long cell, and in full when the report ends, succeeded,
        # failed or its kernel died (tests/reporting/test_runner.py).
        write = nb_man.save

        def save(**kw: Any) -> None:
            if (nb_man.now() - nb_man.last_save_time).total_seconds() >= nb_man.autosave_cell_every:
                write(**kw)

        nb_man.save = save
        try:
            return _Client(
                nb_man,
                km=_kernel(kernel_name, cwd),
                cwd=cwd,
                env=env,
                timeout=execution_timeout,
                startup_timeout=start_timeout,
                kernel_name=kernel_name,
                log=logger,
                log_output=log_output,
                stdout_file=stdout_file,
                stderr_file=stderr_file,
                **kwargs,
            ).execute()
        finally:
            nb_man.save = write


papermill_engines.register(ENGINE, WarmKernelEngine)
