"""The operator-size benchmark part: its steps in order, and totals and goals worked out from
the steps' own figures (the steps themselves are stand-ins here: each real one is a function
other tests run, and the part runs for real with `make bench BENCH_OPERATOR_SCALE=...`)."""

from __future__ import annotations

from pipelines.bench import operator
from pipelines.bench.harness import Measurement

#: (seconds, peak MB) of each stand-in step, by the function it would run.
FIGURES = {
    "generate": (600.0, 9_000.0),
    "extend": (100.0, 8_000.0),
    "gate_step": (300.0, 5_000.0),
    "marts_step": (900.0, 17_000.0),
    "batch_step": (1_200.0, 3_000.0),
}


def test_the_part_measures_the_cycle_the_update_and_the_month_alone(monkeypatch, tmp_path):
    calls = []

    def fake(name, module, function, environment=None, **kwargs):
        calls.append((function, kwargs.get("snapshot")))
        seconds, peak = FIGURES[function]
        if kwargs.get("snapshot") == "operator-alone" and function == "marts_step":
            seconds = 400.0
        return Measurement(name, seconds, peak, {"rows": 1_000})

    monkeypatch.setattr(operator, "measure", fake)
    monkeypatch.setattr("pipelines.bench.harness.measure", fake)
    rows = list(operator.part(0.5, tmp_path))
    assert calls == [
        ("generate", "operator-cycle"),
        ("gate_step", "operator-cycle"),
        ("marts_step", "operator-cycle"),
        ("batch_step", "operator-cycle"),
        ("extend", "operator-update"),
        ("gate_step", "operator-update"),
        ("marts_step", "operator-update"),
        ("batch_step", "operator-update"),
        ("generate", "operator-alone"),
        ("gate_step", "operator-alone"),
        ("marts_step", "operator-alone"),
    ]
    by_name = {m.name: m for m in rows}
    marts = by_name["marts, month 7 extending them"]
    assert marts.detail["note"].startswith("2.25x the new month alone (goal 1.5x)")  # 900 / 400
    cycle, update = rows[-2], rows[-1]
    assert cycle.seconds == 600 + 300 + 900 + 1_200 and cycle.peak_mb == 17_000
    assert "peak over 16 GB" in cycle.detail["note"]
    assert update.seconds == 100 + 300 + 900 + 1_200
    assert update.detail["note"].startswith("41.7 min: over the 30-minute goal; peak over 16 GB")
