import signal
import sys

# Ctrl-C that lands inside a compiled module's initialisation (polars', duckdb's, pyarrow's)
# comes out as that module's "ImportError: initialization failed", with nothing left to say it
# was Ctrl-C. Held until the command line has loaded, it arrives as a KeyboardInterrupt when the
# caller's signal mask is put back. Modules a command loads later (scipy, for the campaign marts)
# are covered by its signal watcher (pipelines/core/signals.py).
held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
try:
    try:
        from pipelines.cli import main
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
except KeyboardInterrupt:  # Ctrl-C while the command line was loading: nothing began
    sys.exit(130)

main()
