"""The Spark benchmark's reading of Spark's event log: bytes shuffled per mart step."""

from __future__ import annotations

import json

from pipelines.bench.spark import shuffled_bytes


def _written(stage: int, n: int) -> dict:
    accumulables = [
        {"Name": "internal.metrics.shuffle.write.bytesWritten", "Value": n},
        {"Name": "internal.metrics.executorRunTime", "Value": 99},
    ]
    return {"Event": "SparkListenerStageCompleted", "Stage Info": {"Stage ID": stage, "Accumulables": accumulables}}


def test_shuffled_bytes_add_up_per_job_group(tmp_path):
    events = [
        {"Event": "SparkListenerJobStart", "Stage IDs": [0, 1], "Properties": {"spark.jobGroup.id": "rfm"}},
        {"Event": "SparkListenerJobStart", "Stage IDs": [2], "Properties": {"spark.jobGroup.id": "migration"}},
        {"Event": "SparkListenerJobStart", "Stage IDs": [3], "Properties": {}},
        _written(0, 100),
        _written(1, 50),
        _written(2, 400),
        _written(3, 7),
        {"Event": "SparkListenerTaskEnd"},
    ]
    folder = tmp_path / "eventlog_v2_local-1"
    folder.mkdir()
    (folder / "events_1_local-1").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    assert shuffled_bytes(str(tmp_path)) == {"migration": 400, "rfm": 150, "other": 7}
    assert list(shuffled_bytes(str(tmp_path))) == ["migration", "rfm", "other"]
