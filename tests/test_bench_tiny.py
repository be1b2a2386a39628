"""Every script in bench/ runs at a tiny size, so a benchmark that no longer runs fails the suite (and CI). The
scripts print their timings; nothing here asserts one. A new bench script needs a case in TINY (the last test
fails until it has one)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
CHROMIUM = "/usr/bin/chromium"

# script → (arguments for a tiny run, a line its output must contain)
TINY = {
    "pages.py": (["3"], "p95"),
    "import_members.py": (["--rows", "500", "--repeat", "1", "--phases"], "ratio (preview + commit) / floor"),
    "reconcile.py": (["--rows", "500", "--repeat", "1"], "ratio compare / read"),
    "progress.py": (["--scale", "county", "--db", "sqlite", "--repeat", "1", "--county-orgs", "150",
                     "--county-members", "3000"], "root page median"),
    # two gunicorn workers (still several processes on one SQLite file), each starting the app: four took longer
    "register_stats.py": (["--scale", "county", "--db", "sqlite", "--repeat", "1", "--county-orgs", "150",
                           "--county-members", "3000"], "root statistics live median"),
    "register_as_of.py": (["--db", "sqlite", "--repeat", "1", "--county-orgs", "150", "--county-members", "3000"],
                          "ratio as-of / current"),
    "load.py": (["--admins", "3", "--rounds", "1", "--workers", "2"], "result: OK"),
    "request_cpu.py": (["--admins", "4", "--rounds", "1"], "page median of medians"),
    # the open loop through the sweep: one steady size and the burst case (each run seeds the demo county)
    "load.py --sweep": (["--sweep", "3", "--sweep-window", "1", "--burst", "3", "--think", "0.5", "--duration", "3",
                        "--workers", "2"],
                        "largest size with page p95 < 300 ms"),
    # the CPU throttle at 1× (still set through the DevTools protocol): at 6× the tiny run spent ~40 s waiting
    "browser_load.py": (["--repeat", "1", "--rate", "1", "--county-orgs", "150", "--county-members", "3000"],
                        "slowest median"),
}


def bench_scripts() -> list[str]:
    """The benchmarks themselves: not the runner (run_all.py) nor the shared helpers (_*.py)."""
    return sorted(p.name for p in BENCH.glob("*.py") if p.name != "run_all.py" and not p.name.startswith("_"))


@pytest.mark.bench
@pytest.mark.parametrize("case", sorted(TINY))
def test_bench_script_runs_at_a_tiny_size(case, tmp_path):
    script = case.split()[0]
    args, expected = TINY[case]
    if script == "browser_load.py" and not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUANJIAN_")}
    # the script's temp files in a short folder of their own: chromium's singleton socket lives there, and a socket
    # path over 107 bytes kills it (an xdist worker's tmp_path, …/popen-gw0/test_bench_script_…, is that long)
    scratch = tempfile.mkdtemp(prefix="tjbench-")
    env.update(PYTHONPATH=str(ROOT), TUANJIAN_INSTANCE_PATH=str(tmp_path), TMPDIR=scratch)
    try:
        proc = subprocess.run([sys.executable, str(BENCH / script), *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=900)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    assert expected in proc.stdout, output[-4000:]


def test_every_bench_script_has_a_tiny_case():
    covered = {case.split()[0] for case in TINY}
    assert set(bench_scripts()) - covered == set(), "add a tiny run of the new bench script to TINY"
    assert covered <= set(bench_scripts()), "TINY names a script that is gone"
