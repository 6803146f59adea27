"""The architecture holds: layer rules, one freshness hash over everything a mart depends on,
a snapshot read once per run, marts that match their dictionary, a map a newcomer can follow."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from pipelines import marts
from pipelines.core.freshness import files
from pipelines.core.paths import NOTEBOOK_DIR, PACKAGE_DIR, REFERENCE_DIR, REPO_ROOT
from pipelines.families import FAMILIES, in_build_order


def test_layer_rules_hold():
    """import-linter's contracts in pyproject.toml: core imports no family, families do not
    import each other, no cycles."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "3 kept, 0 broken" in result.stdout


def test_the_command_line_loads_without_the_statistics_libraries():
    """Every command, `--help` included, pays for what the command line imports: scipy and
    tea-tasting (about 2.4 s) load only where the campaign marts compute effects."""
    heavy = ("scipy", "tea_tasting", "ibis")
    script = f"import sys, pipelines.cli; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.fixture()
def built(mart_con, snap):
    marts.build(snap)
    assert marts.is_current(snap)
    return snap


@contextlib.contextmanager
def _changed(path: Path, added: bytes) -> Iterator[None]:
    """`path` as this process reads it, with `added` at its end. The repository's file is left
    as it is: the other test worker's report runs hash the same files, and a real edit made
    them fail as "the code changed while the reports ran"."""
    real_read = Path.read_bytes
    target = path.resolve()

    def read_bytes(self: Path) -> bytes:
        data = real_read(self)
        return data + added if self.resolve() == target else data

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Path, "read_bytes", read_bytes)
        yield


@pytest.mark.parametrize(
    "path",
    [
        PACKAGE_DIR / "core" / "network.py",  # rail distances: once outside the marts' hash
        PACKAGE_DIR / "segments" / "config.py",
        PACKAGE_DIR / "commute_carbon" / "detect.py",
        PACKAGE_DIR / "commute_carbon" / "config" / "commute.toml",
        PACKAGE_DIR / "merchant_profile" / "sql" / "int_merchant_paid.sql",
        REFERENCE_DIR / "kaohsiung_rail_stations.csv",
    ],
    ids=lambda p: str(p.relative_to(REPO_ROOT)),
)
def test_changing_a_byte_of_any_mart_input_makes_the_marts_stale(built, path):
    with _changed(path, b"\n"):
        assert not marts.is_current(built)
    assert marts.is_current(built)


def test_a_change_in_a_family_module_rebuilds_the_marts(built):
    before = json.loads((marts.marts_dir(built) / marts.MARTS_FILE).read_text())
    with _changed(PACKAGE_DIR / "core" / "network.py", b"\n# a change that could move a figure\n"):
        rebuilt = marts.build(built)
        assert rebuilt["code_sha256"] != before["code_sha256"]
        assert json.loads((marts.marts_dir(built) / marts.MARTS_FILE).read_text()) == rebuilt
    marts.build(built)
    assert marts.is_current(built)


def test_every_module_a_mart_build_runs_is_inside_the_freshness_hash(built):
    """Build the marts in a fresh process and list the package's modules it loaded: each must
    be one of the files the freshness hash covers."""
    script = (
        "import sys, json\n"
        "from pipelines import marts\n"
        f"marts.build({built.id!r}, force=True)\n"
        "print(json.dumps(sorted(m.__file__ for m in list(sys.modules.values())"
        " if getattr(m, '__file__', None) and m.__name__.startswith('pipelines'))))\n"
    )
    loaded = json.loads(
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    )
    hashed = {p.resolve() for p in files(marts.mart_inputs())}
    outside = [m for m in loaded if Path(m).resolve() not in hashed]
    # The gate's verdict is checked, not computed, by a build: quality is outside on purpose.
    assert [m for m in outside if "/quality/" not in m] == []


def test_a_run_reads_the_manifest_and_the_verdict_once(snap, mart_con, monkeypatch, tmp_path):
    """From the snapshot ID to the figures of every family's report functions: one read of
    manifest.json and one of the gate's result.json."""
    from pipelines.commute_carbon.report import employer_report
    from pipelines.merchant_profile.profile import profile
    from pipelines.reporting import notebook
    from pipelines.segments.analysis import open_segmentation

    reads: list[str] = []
    for method in ("read_text", "read_bytes"):
        original = getattr(Path, method)

        def counted(self, *args, _original=original, **kwargs):
            if self.name in ("manifest.json", "result.json"):
                reads.append(self.name)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Path, method, counted)
    started = notebook.start(snap.id)
    with marts.connect(started) as con:
        open_segmentation(con, started).segment_table()
        employer_report(con, "E0001", whole_months=started.whole_months()).headline()
        profile(con, started, "B0001").headline()
    assert sorted(reads) == ["manifest.json", "result.json"]


def test_the_marts_have_exactly_the_columns_of_their_dictionary(built):
    con = duckdb.connect()
    for family in FAMILIES:
        for mart in family.marts:
            path = marts.marts_dir(built) / f"{mart.name}.parquet"
            got = [(r[0], r[1]) for r in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()]
            assert got == [(c.name, c.type) for c in mart.columns], mart.name
    published = {p.stem for p in marts.marts_dir(built).glob("*.parquet")}
    assert published == {m.name for f in FAMILIES for m in f.marts}


def test_families_build_after_the_marts_they_read():
    order = [f.name for f in in_build_order()]
    assert order.index("merchant_profile") > order.index("segments")
    provided = {m.name for f in FAMILIES for m in f.marts}
    assert all(set(f.reads) <= provided for f in FAMILIES)


def test_the_architecture_page_leads_to_every_piece_of_every_family():
    """docs/architecture.md names, for each family, its package, SQL, configuration, notebook
    and tests; each must exist."""
    text = (REPO_ROOT / "docs" / "architecture.md").read_text()
    for family in FAMILIES:
        folder = family.package.relative_to(REPO_ROOT)
        for piece in (folder, folder / "sql", folder / "marts.toml", Path("tests") / family.name):
            assert f"`{piece}/`" in text or f"`{piece}`" in text, piece
            assert (REPO_ROOT / piece).exists(), piece
        notebook = NOTEBOOK_DIR / family.notebook_name
        assert notebook.exists() and f"`notebooks/{notebook.name}`" in text
