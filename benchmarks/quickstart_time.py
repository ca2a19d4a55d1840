"""Time the README quickstart as written: each command of its bash block, in a fresh folder.

The block is read from README.md (its one placeholder, ``/path/to/data``, replaced
with ``--data``), each line run by bash in order, in a new temporary folder per
run, with this interpreter's ``bin/`` first on PATH. Per run: the seconds of each
command and the total, and the total against the README's promise of a minute
(the "ceiling" here is that budget, not a machine figure). The last line the last
command printed is kept: the quickstart ends with the verdict.

Run: ``.venv/bin/python benchmarks/quickstart_time.py --data ../shared/data --runs 3``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BUDGET_S = 60.0  # "under a minute on 2 cores"


def quickstart_commands(readme: Path = REPO / "README.md") -> list[str]:
    """The non-empty, non-comment lines of the README quickstart's bash block."""
    text = readme.read_text()
    section = re.search(r"^## Quickstart[^\n]*\n(.*?)(?=^## )", text, flags=re.M | re.S)
    if not section:
        raise SystemExit("README.md has no '## Quickstart' section")
    block = re.search(r"```bash\n(.*?)```", section.group(1), flags=re.S)
    if not block:
        raise SystemExit("the README quickstart has no bash block")
    lines = [line.strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def run_once(commands: list[str], data: Path, folder: Path) -> dict:
    """Run the commands in ``folder`` (one bash, so ``export`` carries over); time each."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("GEXGEN_DATA", None)  # the block's own export sets it
    steps = []
    prelude = ""
    for command in commands:
        command = command.replace("/path/to/data", str(data))
        if command.startswith("export "):  # carried into every later command
            prelude += command + "\n"
            continue
        start = time.perf_counter()
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", prelude + command],
            cwd=folder, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        out = done.stdout.strip().splitlines()
        steps.append(
            {
                "command": command,
                "seconds": time.perf_counter() - start,
                "returncode": done.returncode,
                "last_line": out[-1] if out else "",
                "stderr_tail": done.stderr[-2000:] if done.returncode else "",
            }
        )
        if done.returncode:
            break
    return {"steps": steps, "total_s": sum(s["seconds"] for s in steps)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="folder with rnaseqdb/, l1000/")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the runs as JSON here")
    parser.add_argument("--keep", type=Path, help="run in this (empty) folder and keep it")
    args = parser.parse_args()
    commands = quickstart_commands()
    runs = []
    for i in range(args.runs):
        if args.keep:
            folder = args.keep / f"run{i}"
            folder.mkdir(parents=True)
            runs.append(run_once(commands, args.data.resolve(), folder))
        else:
            with tempfile.TemporaryDirectory(prefix="gexgen-quickstart-") as tmp:
                runs.append(run_once(commands, args.data.resolve(), Path(tmp)))
        run = runs[-1]
        for step in run["steps"]:
            name = " ".join(step["command"].split()[:2])
            print(f"run {i + 1}  {step['seconds']:6.1f} s  rc {step['returncode']}  {name}")
        print(f"run {i + 1}  {run['total_s']:6.1f} s  total ({run['total_s'] / BUDGET_S:.2f} of "
              f"the {BUDGET_S:.0f} s budget)")  # fmt: skip
        if run["steps"][-1]["returncode"]:
            print(run["steps"][-1]["stderr_tail"], file=sys.stderr)
            raise SystemExit(1)
    totals = [r["total_s"] for r in runs]
    print(f"median total {statistics.median(totals):.1f} s over {len(totals)} run(s) "
          f"(min {min(totals):.1f}, max {max(totals):.1f}); last line: "
          f"{runs[-1]['steps'][-1]['last_line']}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps({"budget_s": BUDGET_S, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
