"""`make mutate`: mutmut over deliver, store, audience and web with one PostgreSQL cluster shared
by all its pytest runs (a cluster per mutant would cost seconds each), timed; then the report."""

from __future__ import annotations

import filecmp
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pgcluster import temporary_cluster  # noqa: E402
from tests.scratch import use_ram_for_scratch  # noqa: E402


def _selection(names: list[str]) -> str:
    if not names:
        return "every mutant"
    return " ".join(names) if len(names) <= 5 else f"{len(names)} mutants named"


def refresh_data_files() -> int:
    """Copy into mutmut's copy (mutants/src) every file of src/ that is not Python and differs:
    mutmut copies them only when it makes mutants/, so edited templates and catalogs stayed
    old there and tests that render them failed in its runs. How many were copied."""
    copied = 0
    for path in (ROOT / "src").rglob("*"):
        target = ROOT / "mutants" / path.relative_to(ROOT)
        if not path.is_file() or path.suffix == ".py" or not target.parent.exists():
            continue
        if not target.exists() or not filecmp.cmp(path, target, shallow=False):
            shutil.copy2(path, target)
            copied += 1
    return copied


def main(names: list[str], children: str) -> int:
    """Run mutmut on `names` (every mutant when empty) with `children` workers and write
    docs/mutation.md."""
    bin_dir = Path(sys.executable).parent
    if copied := refresh_data_files():
        print(f"mutmut: {copied} changed templates and catalogs copied into mutants/src")
    use_ram_for_scratch()  # the cluster, the tmp_path folders and every pytest run's files
    load = os.getloadavg()[0]
    start = time.monotonic()
    # pytest's tmp_path folders of thousands of runs go to a folder of their own, removed at the
    # end: in the shared one each run also scanned and pruned other sessions' folders.
    with temporary_cluster() as url, tempfile.TemporaryDirectory(prefix="weekly-mutate-") as tmp:
        env = {**os.environ, "WEEKLY_TEST_PG_CLUSTER": url, "PYTEST_DEBUG_TEMPROOT": tmp}
        command = [str(bin_dir / "mutmut"), "run", "--max-children", children, *names]
        code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = (
        f"{_selection(names)} in "
        f"{(time.monotonic() - start) / 60:.1f} min wall time, "
        f"{(used.ru_utime + used.ru_stime) / 60:.1f} min of CPU, load average "
        f"{load:.1f} at the start and {os.getloadavg()[0]:.1f} at the end"
    )
    print(f"mutmut: {run}")
    if code != 0:
        return code
    report = [sys.executable, str(ROOT / ".ci" / "mutation_report.py"), "--run", run]
    return subprocess.run(report, cwd=ROOT, check=False).returncode


# Mutants run at once on 2 cores: more than the cores pays, since mutants that hang wait out
# their bound idle and serve's, preview's and send's tests wait on servers (docs/mutation.md).
CHILDREN = "8"

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], os.environ.get("MUTATE_CHILDREN") or CHILDREN))
