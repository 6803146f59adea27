import sys

try:
    from pipelines.cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line is still loading: nothing began
    sys.exit(130)

main()
