"""Misuses of the `citytrade` command, as a new user makes them: each gets one line saying what is wrong, the exit code
the README gives (2: a bad command line; 1: the command could not do its work), and never a traceback."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import CITYTRADE_BIN, REPO, SAMPLE_RAW, run_cli


@pytest.fixture(scope="module")
def places(tmp_path_factory, sample_home) -> dict[str, str]:
    base = tmp_path_factory.mktemp("misuse")
    (base / "a-file.txt").write_text("not a folder\n", encoding="utf-8")
    (base / "empty-home").mkdir()
    published = base / "published-home"
    shutil.copytree(sample_home, published, ignore=shutil.ignore_patterns("run.lock"))
    return {"BASE": str(base), "SAMPLE": str(SAMPLE_RAW), "PUBLISHED": str(published)}


# (arguments, exit code, the one line on stderr; BASE, SAMPLE and PUBLISHED stand for the fixture's paths)
MISUSES = [
    ([], 2, "citytrade: the following arguments are required: COMMAND (see citytrade --help)"),
    (["fly"], 2, "citytrade: argument COMMAND: invalid choice: 'fly' (choose from run, ingest, build, validate, publish, status, alerts, extract, rankings, generate) (see citytrade --help)"),
    (["run", "--no-such-flag"], 2, "citytrade: unrecognized arguments: --no-such-flag (see citytrade --help)"),
    (["ingest", "--raw-dir", "BASE/nowhere", "--home", "BASE/h1"], 2, "citytrade: the raw folder BASE/nowhere does not exist (--raw-dir)"),
    (["run", "--raw-dir", "BASE/a-file.txt", "--home", "BASE/h2"], 2, "citytrade: the raw folder BASE/a-file.txt is not a folder (--raw-dir)"),
    (["ingest", "--raw-dir", "SAMPLE", "--home", "BASE/a-file.txt"], 2, "citytrade: the home BASE/a-file.txt is not a folder (--home)"),
    (["ingest", "--raw-dir", "SAMPLE", "--home", "BASE/a-file.txt/home"], 2, "citytrade: cannot write to the home BASE/a-file.txt/home: not a directory (--home)"),
    (["status", "--home", "BASE/mistyped"], 1, "citytrade: no citytrade home at BASE/mistyped: check --home, or run `citytrade run` first"),
    (["alerts", "--home", "BASE/mistyped"], 1, "citytrade: no citytrade home at BASE/mistyped: check --home, or run `citytrade run` first"),
    (["rankings", "--home", "BASE/empty-home"], 1, "citytrade: nothing published yet under BASE/empty-home: run `citytrade run` first"),
    (["rankings", "--home", "PUBLISHED", "--month-to", "13"], 2, "citytrade: argument --month-to: month must be 1-12, not 13 (see citytrade rankings --help)"),
    (["rankings", "--home", "PUBLISHED", "--top", "0"], 2, "citytrade: argument --top: must be at least 1, not 0 (see citytrade rankings --help)"),
    (["rankings", "--home", "PUBLISHED", "--basis", "moon"], 2, "citytrade: argument --basis: invalid choice: 'moon' (choose from firm_location, destination_source, port) (see citytrade rankings --help)"),
    (["generate", "--years", "2"], 2, "citytrade: the following arguments are required: --out (see citytrade generate --help)"),
    (["generate", "--out", "BASE/syn", "--years", "0"], 2, "citytrade: --years must be at least 1"),
    (["generate", "--out", "BASE/syn", "--years", "1", "--months", "13"], 2, "citytrade: --months must be 2..12 (January and February are published together)"),
    (["generate", "--out", "SAMPLE/synthetic", "--years", "1"], 2, "citytrade: SAMPLE/synthetic is inside the sample landing zone SAMPLE: generate synthetic releases into a separate folder"),
]


@pytest.mark.parametrize(("arguments", "code", "line"), MISUSES, ids=[" ".join(a[:2]) or "nothing" for a, _, _ in MISUSES])
def test_a_misuse_gets_one_line_and_its_exit_code(places, arguments, code, line):
    def fill(text: str) -> str:
        for name, path in places.items():
            text = text.replace(name, path)
        return text

    def unquoted_choices(text: str) -> str:  # argparse quotes the choices on some Python versions, not on others
        return re.sub(r"\(choose from [^)]*\)", lambda match: match.group(0).replace("'", ""), text)

    result = run_cli(*[fill(argument) for argument in arguments], timeout=120)
    said = [unquoted_choices(said_line) for said_line in result.stderr.strip().splitlines()]
    assert (result.returncode, said) == (code, [fill(line)]), result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert not Path(places["BASE"], "mistyped").exists(), "a read command created the home"


def test_debug_adds_the_traceback(places):
    result = run_cli("ingest", "--debug", "--raw-dir", places["SAMPLE"], "--home", places["BASE"] + "/a-file.txt", timeout=120)
    assert result.returncode == 2 and "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"citytrade: the home {places['BASE']}/a-file.txt is not a folder (--home)"


def test_a_pipe_closed_early_ends_quietly(places):
    """`citytrade alerts | true`: the reader is gone before the command writes."""
    for command in ("alerts --all", "rankings --json", "status"):
        shell = f"'{CITYTRADE_BIN}' {command} --home '{places['PUBLISHED']}' | true"
        result = subprocess.run(["bash", "-o", "pipefail", "-c", shell], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert (result.returncode, result.stderr) == (0, ""), command
