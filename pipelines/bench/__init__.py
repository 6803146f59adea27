"""`make bench`: each measured step is a real function in one of these modules, run in a fresh
process by harness.measure (pipelines/bench/step.py is that process's entry point); answers of
alternative implementations are checked against the project's own before a result is written.

    harness.py     measuring a step, the machine, the results table
    run.py         the plan: which parts run at which scale, appended to benchmarks/RESULTS.md
    generation.py  the generator and a scan;  gate.py  the gate and its floor
    segments.py, carbon.py, merchants.py  each family's marts next to their floor (and peers)
    reports.py     report runs through the runner
"""
