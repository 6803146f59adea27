"""Bad input from a user gets one clear line naming what is wrong, exit code 1, and no traceback."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from pipelines.quality.gate import validate


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines", *args], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["import", ".", "-s", "x", "--start", "2025-02-30", "--end", "2025-03-31"],
            "--start '2025-02-30' is not a date",
        ),
        (
            ["import", ".", "-s", "x", "--start", "2025-02-01", "--end", "31/03/2025"],
            "--end '31/03/2025' is not a date",
        ),
        (["generate", "-s", "x", "--scale", "nan"], "--scale must be a positive number"),
        (["generate", "-s", "x", "--scale", "-1"], "--scale must be a positive number"),
        (["run", "-s", "nope"], "unknown snapshot 'nope'"),
        (["snapshots", "remove", "nope", "--yes"], "unknown snapshot 'nope'"),
    ],
)
def test_user_errors_are_one_line_without_traceback(isolated_data, args, message):
    result = _cli(*args, env={"CARD_INSIGHTS_DATA": str(isolated_data)})
    assert result.returncode == 1, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_member_ids_never_go_into_a_reports_folder_wherever_it_is(snapshot, tmp_path):
    reports = tmp_path / "published"
    result = _cli(
        "audience",
        "-s",
        snapshot,
        "--out",
        str(reports / "run" / "ids.csv"),
        env={"CARD_INSIGHTS_REPORTS": str(reports)},
    )
    assert result.returncode == 1 and "member IDs never go into a reports folder" in result.stderr
    assert not reports.exists()


def test_a_reports_folder_that_cannot_be_written_is_named(snapshot, tmp_path):
    validate(snapshot, now=dt.datetime(2026, 11, 23))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = _cli("run", "-s", snapshot, env={"CARD_INSIGHTS_REPORTS": str(blocker / "reports")})
    assert result.returncode == 1
    assert f"cannot use {blocker / 'reports'}" in result.stderr and "Traceback" not in result.stderr


def test_a_full_disk_while_writing_a_report_fails_that_report_with_the_reason(snapshot, tmp_path, monkeypatch):
    import errno

    import nbformat

    from pipelines.reporting import runner

    validate(snapshot, now=dt.datetime(2026, 11, 23))
    monkeypatch.setenv("CARD_INSIGHTS_REPORTS", str(tmp_path / "reports"))
    real = runner.to_html

    def full(nb: nbformat.NotebookNode, title: str, lang: str) -> str:
        if nb.metadata.papermill.parameters.get("merchant") == "B0001":
            raise OSError(errno.ENOSPC, "No space left on device", "merchant_profile-B0001.html")
        return real(nb, title, lang)

    monkeypatch.setattr(runner, "to_html", full)
    result = runner.run(snapshot, batch="merchants", force=True)
    failed = {o.report.name: o.error for o in result.outcomes if o.status == "failed"}
    assert list(failed) == ["merchant_profile-B0001"]
    assert "No space left on device" in failed["merchant_profile-B0001"]
    assert not result.ok and result.folder.name.endswith(".failed")
