"""One benchmark step in its own process: `python -m pipelines.bench.step MODULE FUNCTION JSON`
calls pipelines.bench.MODULE.FUNCTION(**JSON) and prints its result (a dict with 'seconds')
as the last line of JSON, for harness.measure to read."""

from __future__ import annotations

import importlib
import json
import sys


def main(argv: list[str]) -> None:
    module, function, arguments = argv
    result = getattr(importlib.import_module(f"pipelines.bench.{module}"), function)(**json.loads(arguments))
    print(json.dumps(result if isinstance(result, dict) else {"seconds": result}))


if __name__ == "__main__":
    main(sys.argv[1:])
