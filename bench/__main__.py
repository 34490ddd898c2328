"""Benchmark harness: ``python -m bench`` (or ``make bench ARGS="..."``).

Measures, in ONE run, on one PostgreSQL server and one generated dealer group (issue #13):

1. **Landing**: ``dealerfunnel.landing.load_landing`` (whatever loader the branch has) vs a
   bare ``COPY`` of the same files into all-text tables vs dlt loading the same files (its own
   virtualenv ``bench/.venv-dlt``, made with uv on first use), each on a fresh database,
   interleaved ``--repeat`` times (medians). Ratios: loader throughput as a fraction of
   COPY's (COPY time / loader time) and loader vs dlt (dlt time / loader time).
2. **Transform** (:func:`bench_transform`), every dbt build with the same ``as_of_at``: the
   Airflow-run ``funnel_transform`` (``dag.test()`` on a migrated metadata DB, gates, publish,
   docs and report pages included; the first build, a full refresh) then ``funnel_alerts``;
   ``funnel_transform`` again with no new data (the no-op hourly run).
3. **Incremental**: ``--increment`` (1%) new leads in new files, loaded, then the incremental
   ``funnel_transform`` + ``funnel_alerts``; its ratio to the full build and the ``fct_leads``
   rows it refreshed. Load + transform + alerts of the increment is the freshness cycle. Then
   the checksums of the published marts and incremental intermediates, a full-refresh
   ``funnel_transform`` of the same data (a second full figure) and the same checksums: the
   incremental build must equal the full refresh. Last, the ``dbt build`` of ``build_candidate``
   run bare (full refresh, same data): Airflow vs bare.
4. **DAG parse time** per file (``bench/dag_parse.py``), each in a fresh interpreter.
5. Optional (``--cosmos``): Cosmos vs one ``dbt build`` task (``bench/cosmos_overhead.py``).

Every measured step runs in its own process under ``bench/measure.py``, which reports the
peak resident memory of that process tree (``getrusage(RUSAGE_CHILDREN)``). The result table
is printed and written into ``BENCHMARKS.md`` (between the ``bench:run`` markers) with the
exact command and date; ``--no-write`` leaves the file alone, ``--json`` saves the raw figures.
Each step that ran dbt leaves its ``run_results.json`` (node timings) in the work folder as
``<nn>-<step>.run_results.json``.

The server is ``WAREHOUSE_URL`` (scratch databases are created on it and dropped afterwards)
or, when unset, an embedded PostgreSQL in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from bench.generate import DEFAULT_SEED, add_increment, generate_group
from dealerfunnel_demo.checksums import IGNORED_COLUMNS, INCREMENTAL_MODELS

ROOT = Path(__file__).resolve().parents[1]
DLT_VENV = ROOT / "bench" / ".venv-dlt"
DLT_REQUIREMENT = "dlt[postgres]"
START_MARK = "<!-- bench:run:start -->"
END_MARK = "<!-- bench:run:end -->"
GOALS = {  # issue #13
    "landing_vs_copy": 0.6,  # loader throughput >= 0.6 of a bare COPY
    "incremental_vs_full": 0.10,  # incremental funnel_transform <= 0.10 of the full one
    "full_transform_s": 180.0,  # whole funnel_transform at 1 M leads
    "airflow_vs_bare": 1.3,  # Airflow-run transform <= 1.3x the same dbt build bare
    "loader_vs_dlt": 10.0,  # loader >= 10x dlt
    "freshness_s": 3600.0,  # land -> marts -> alerts within an hourly cycle
}


def _server_url(tmp: Path) -> str:
    url = os.environ.get("WAREHOUSE_URL")
    if url:
        from dealerfunnel.warehouse.connection import to_libpq

        return to_libpq(url)
    import pgserver

    return pgserver.get_server(tmp / "pg", cleanup_mode="stop").get_uri()


def _fresh_database(server: str) -> str:
    from dealerfunnel_demo.databases import create_database

    return create_database(server, "bench")


def _drop_database(server: str, url: str) -> None:
    from dealerfunnel_demo.databases import drop_database

    drop_database(server, url)


def ensure_dlt() -> tuple[Path | None, str]:
    """The dlt virtualenv's python (made with the project's uv on first use), or None and why."""
    python = DLT_VENV / "bin" / "python"
    probe = [str(python), "-c", "import dlt, psycopg2; print(dlt.__version__)"]
    if python.exists():
        done = subprocess.run(probe, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return python, done.stdout.strip()
    uv = Path(sys.executable).with_name("uv")
    uv_cmd = str(uv) if uv.exists() else "uv"
    steps = [
        [uv_cmd, "venv", "-q", "--python", sys.executable, str(DLT_VENV)],
        [uv_cmd, "pip", "install", "-q", "--python", str(python), DLT_REQUIREMENT],
    ]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, check=False)
        except OSError as exc:
            return None, f"{shlex.join(step)}: {exc}"
        if done.returncode != 0:
            return None, f"{shlex.join(step)} failed: {(done.stderr or done.stdout)[-500:]}"
    done = subprocess.run(probe, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None, f"dlt installed but does not import: {done.stderr[-500:]}"
    return python, done.stdout.strip()


def _run_results() -> Path:
    """dbt's ``run_results.json`` of the latest build (under ``DEALERFUNNEL_DATA_DIR``)."""
    from dealerfunnel.quality.wap import dbt_target

    return dbt_target() / "run_results.json"


class Runner:
    """Runs each measured step in its own process under ``bench/measure.py``."""

    def __init__(self, work: Path, verbose: bool) -> None:
        self.work = work
        self.logs = work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.verbose = verbose
        path = [str(ROOT), *(p for p in sys.path if p)]
        self.env = dict(os.environ, PYTHONPATH=os.pathsep.join(dict.fromkeys(path)))
        self.count = 0

    def run(self, name: str, command: list[str]) -> dict:
        self.count += 1
        tag = f"{self.count:02d}-{name}"
        result = self.work / f"{tag}.json"
        measured = self.work / f"{tag}.rusage.json"
        log = self.logs / f"{tag}.log"
        wrapper = [sys.executable, str(ROOT / "bench" / "measure.py"), str(measured), str(log)]
        print(f"  {name} ...", end="", flush=True)
        built = _run_results()
        before = built.stat().st_mtime_ns if built.exists() else 0
        subprocess.run(
            [*wrapper, "--", *command, "--result", str(result)], env=self.env, check=True
        )
        if built.exists() and built.stat().st_mtime_ns > before:
            # the step ran dbt: keep its node timings (the next build overwrites them)
            shutil.copy2(built, self.work / f"{tag}.run_results.json")
        usage = json.loads(measured.read_text())
        if usage["returncode"] != 0 or not result.exists():
            tail = log.read_text(errors="replace")[-3000:]
            raise SystemExit(
                f"\nstep {name} failed (exit {usage['returncode']}), log {log}:\n{tail}"
            )
        data = json.loads(result.read_text()) | usage
        print(f" {data['seconds']:.1f}s, peak {data['maxrss_mb']:.0f} MB", flush=True)
        return data

    def step(self, step: str, url: str, *, name: str = "", **options: str | bool) -> dict:
        """``python -m bench.steps STEP --url URL --option value ...`` (``True``: a bare flag);
        ``name`` tags its log and result files (default: the step)."""
        command = [sys.executable, "-m", "bench.steps", step, "--url", url]
        for key, value in options.items():
            flag = "--" + key.replace("_", "-")
            if value is True:
                command.append(flag)
            elif value not in (None, False, ""):
                command += [flag, str(value)]
        return self.run(name or step, command)


def _median(runs: list[dict]) -> dict:
    """The run with the median time (the lower middle one for an even count)."""
    ordered = sorted(runs, key=lambda r: r["seconds"])
    return ordered[(len(ordered) - 1) // 2] | {"runs": [round(r["seconds"], 2) for r in runs]}


def bench_landing(
    runner: Runner, server: str, landing: Path, repeat: int, dlt_python: Path | None
) -> tuple[dict, str]:
    """COPY, the loader and dlt on fresh databases, interleaved; the loaded database's URL."""
    names = ["copy", "load", *(["dlt"] if dlt_python else [])]
    runs: dict[str, list[dict]] = {n: [] for n in names}
    keep = ""
    for attempt in range(repeat):
        order = names if attempt % 2 == 0 else names[::-1]  # caching favours no side
        for name in order:
            url = _fresh_database(server)
            try:
                if name == "dlt":
                    command = [str(dlt_python), str(ROOT / "bench" / "dlt_load.py")]
                    command += ["--url", url, "--landing", str(landing)]
                    runs[name].append(runner.run("dlt", command))
                else:
                    runs[name].append(runner.step(name, url, landing=str(landing)))
            except BaseException:
                for leftover in {url, keep} - {""}:
                    _drop_database(server, leftover)
                raise
            if name == "load":
                if keep:
                    _drop_database(server, keep)
                keep = url
            else:
                _drop_database(server, url)
    return {name: _median(r) for name, r in runs.items()}, keep


def _git_revision() -> str:
    if os.environ.get("BENCH_REVISION"):  # a run from an exported snapshot of a commit
        return os.environ["BENCH_REVISION"]
    git = ["git", "-C", str(ROOT)]  # git from PATH, as a developer runs it
    log = [*git, "log", "-1", "--format=%h %s"]
    status = [*git, "status", "--porcelain", "--untracked-files=no"]
    done = subprocess.run(log, capture_output=True, text=True, check=False)
    dirty = subprocess.run(status, capture_output=True, text=True, check=False)
    return done.stdout.strip()[:90] + (" (+ uncommitted changes)" if dirty.stdout.strip() else "")


# the steps that ran a dbt build, as the report names them
BUILD_STEPS = {
    "airflow_full": "full",
    "airflow_noop": "no-op",
    "airflow_inc": "incremental",
    "airflow_refresh": "full refresh",
    "dbt_full": "bare",
}
TASK_COLUMNS = {
    "airflow_full": "full",
    "airflow_noop": "no-op",
    "airflow_inc": "incremental",
    "airflow_refresh": "full refresh",
}


def _build_mode(build: dict) -> str:
    if build["full_refresh"]:
        return f"full refresh ({build['reason']})"
    return "incremental"


def _verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("**met**" if met else "**not met**")


def _x(value: float) -> str:
    return f"{value:.2f}"


def render(r: dict) -> str:
    """The markdown block written into BENCHMARKS.md."""
    g = r["group"]
    land = r["landing"]
    rows = land["load"]["rows"]
    lines = [
        START_MARK,
        f"### Run of {r['date']}: {g['leads']:,} leads, {g['dealers']} dealers, {g['years']} years",
        "",
        f"Command: `{r['command']}`  ",
        f"Code: `{r['revision']}`  ",
        f"Machine: {r['cpus']} cores; load average {r['load_before']} before the run and "
        f"{r['load_after']} after it: other processes shared the cores, so absolute times "
        "are inflated; the ratios, measured in this one run on the same data, are the figures "
        "that count.  ",
        f"Input: {g['rows']:,} CSV rows in {g['files']:,} files (leads {g['leads_rows']:,}, "
        f"stage events {g['stage_events']:,}, follow-ups {g['followups']:,}), generated in "
        f"{g['seconds']:.0f} s (`bench/generate.py`, seed {g['seed']}).",
        "",
        "| goal (#13) | measured | target | verdict |",
        "| --- | --- | --- | --- |",
    ]
    goals = r["goals"]
    for label, value, target, met in goals:
        lines.append(f"| {label} | {value} | {target} | {_verdict(met)} |")
    lines += [
        "",
        "| step | time | throughput | peak memory |",
        "| --- | --- | --- | --- |",
    ]
    for name, label in (
        ("copy", "bare `COPY` of the same files (all-text tables)"),
        ("load", "`load_landing` (the project's loader)"),
        ("dlt", f"dlt {r.get('dlt_version', '')} (`bench/dlt_load.py`)"),
    ):
        if name in land:
            s = land[name]
            runs = f" (runs {s['runs']})" if len(s["runs"]) > 1 else ""
            lines.append(
                f"| {label} | {s['seconds']:.1f} s{runs} | {rows / s['seconds']:,.0f} rows/s"
                f" | {s['maxrss_mb']:,.0f} MB |"
            )
    if "dlt" not in land:
        lines.append(f"| dlt | not measured: {r.get('dlt_skipped', '')} | | |")
    if "rerun" in r:
        lines.append(
            f"| `load_landing` again over the loaded files (all skipped by hash) "
            f"| {r['rerun']['seconds']:.1f} s | | {r['rerun']['maxrss_mb']:,.0f} MB |"
        )
    for key, label in (
        ("airflow_full", "Airflow `funnel_transform` (`dag.test()`), first build: full refresh"),
        ("alerts_full", "Airflow `funnel_alerts`, after the full build"),
        ("airflow_noop", "Airflow `funnel_transform`, no new data (no-op hourly run)"),
        ("inc_load", "`load_landing` of the increment"),
        ("airflow_inc", "Airflow `funnel_transform`, after the increment: incremental"),
        ("alerts_inc", "Airflow `funnel_alerts`, after the increment"),
        ("airflow_refresh", "Airflow `funnel_transform`, full refresh of the same data"),
        ("dbt_full", "bare `dbt build` (as `build_candidate`), full refresh of the same data"),
    ):
        if key in r["steps"]:
            s = r["steps"][key]
            extra = f" | {s['rows'] / s['seconds']:,.0f} rows/s |" if s.get("rows") else " | |"
            lines.append(f"| {label} | {s['seconds']:.1f} s{extra} {s['maxrss_mb']:,.0f} MB |")
    builds = [(key, r["steps"][key].get("build")) for key in BUILD_STEPS if key in r["steps"]]
    if any(b for _, b in builds):
        lines += ["", "How each `dbt build` ran (`ops.dbt_builds`; `fct_leads` rows it wrote):", ""]
        lines.append(
            "; ".join(
                f"{BUILD_STEPS[key]}: {_build_mode(b)}, {b['fct_leads_refreshed']:,} of "
                f"{b['fct_leads_rows']:,}"
                for key, b in builds
                if b
            )
        )
    if r.get("checksums"):
        c = r["checksums"]
        verdict = "yes" if c["equal"] else "no, differ: " + ", ".join(f"`{t}`" for t in c["differ"])
        lines += [
            "",
            f"Full refresh equals incremental: {verdict} ({c['tables']} tables compared: every "
            "published mart but `mart_source_freshness`, and "
            + ", ".join(f"`{table}`" for _, table in INCREMENTAL_MODELS)
            + "; md5 of the rows as "
            f"text, {', '.join(f'`{c}`' for c in IGNORED_COLUMNS)} aside; dbt var `as_of_at` = "
            f"{r['as_of_at']} for every build).",
        ]
    if r.get("tasks"):
        keys = list(r["tasks"])
        names = " / ".join(TASK_COLUMNS[k] for k in keys)
        lines += ["", f"`funnel_transform` tasks (seconds, {names}):", ""]
        first = r["tasks"][keys[0]]
        lines.append(
            ", ".join(
                f"`{t}` " + " / ".join(f"{r['tasks'][k].get(t, float('nan')):.1f}" for k in keys)
                for t in first
            )
        )
    if r.get("increment"):
        inc = r["increment"]
        lines += [
            "",
            f"Increment: {inc['leads_generated']:,} new leads ({inc['rows']:,} rows, "
            f"{inc['files']:,} new files).",
        ]
    if r.get("dag_parse"):
        lines += ["", "DAG parse time per file (fresh interpreter, the file's own import): "]
        lines.append(", ".join(f"`{n}` {s:.2f} s" for n, s in r["dag_parse"].items()))
    if r.get("cosmos"):
        c = r["cosmos"]
        lines += [
            "",
            f"Cosmos `DbtDag` ({c['tasks']} tasks): {c['cosmos_run_s']:.1f} s vs bare "
            f"`dbt build` {c['bare_build_s']:.1f} s = {c['cosmos_run_s'] / c['bare_build_s']:.1f}x",
        ]
    lines.append(END_MARK)
    return "\n".join(lines) + "\n"


def goals(r: dict) -> list[tuple[str, str, str, bool | None]]:
    land, steps = r["landing"], r["steps"]
    out: list[tuple[str, str, str, bool | None]] = []
    ratio = land["copy"]["seconds"] / land["load"]["seconds"]
    out.append(
        (
            "landing throughput as a fraction of a bare COPY (COPY time / loader time)",
            _x(ratio),
            f"≥ {GOALS['landing_vs_copy']}",
            ratio >= GOALS["landing_vs_copy"],
        )
    )
    if "dlt" in land:
        ratio = land["dlt"]["seconds"] / land["load"]["seconds"]
        out.append(
            (
                "loader vs dlt (dlt time / loader time)",
                f"{_x(ratio)}x",
                f"≥ {GOALS['loader_vs_dlt']:.0f}x",
                ratio >= GOALS["loader_vs_dlt"],
            )
        )
    else:
        out.append(("loader vs dlt", f"not measured ({r.get('dlt_skipped', '')})", "≥ 10x", None))
    if "airflow_full" in steps:
        full = steps["airflow_full"]["seconds"]
        out.append(
            (
                f"full `funnel_transform` at {r['group']['leads']:,} leads (first build)",
                f"{full:.0f} s",
                f"≤ {GOALS['full_transform_s']:.0f} s at 1,000,000 leads",
                full <= GOALS["full_transform_s"] if r["group"]["leads"] >= 1_000_000 else None,
            )
        )
        # the Airflow full refresh and the bare one ran on the same data, one after the other
        airflow_key = "airflow_refresh" if "airflow_refresh" in steps else "airflow_full"
        if "dbt_full" in steps:
            ratio = steps[airflow_key]["seconds"] / steps["dbt_full"]["seconds"]
            out.append(
                (
                    "Airflow-run `funnel_transform` / the same `dbt build` bare (full refresh,"
                    " same data)",
                    f"{_x(ratio)}x",
                    f"≤ {GOALS['airflow_vs_bare']}x",
                    ratio <= GOALS["airflow_vs_bare"],
                )
            )
        if "airflow_noop" in steps:
            out.append(
                (
                    "no-op hourly run: `funnel_transform` with no new data / the full one",
                    _x(steps["airflow_noop"]["seconds"] / full),
                    "reported (no target)",
                    None,
                )
            )
        if "airflow_inc" in steps:
            ratio = steps["airflow_inc"]["seconds"] / full
            build = steps["airflow_inc"].get("build") or {}
            notes = []
            if "airflow_refresh" in steps:  # the same work as the first build, on the same data
                same = steps["airflow_inc"]["seconds"] / steps["airflow_refresh"]["seconds"]
                notes.append(f"/ the full refresh of the same data: {_x(same)}")
            if build:
                notes.append(
                    f"`fct_leads` rows refreshed: {build['fct_leads_refreshed']:,} of "
                    f"{build['fct_leads_rows']:,}"
                )
            out.append(
                (
                    f"incremental `funnel_transform` after {r['increment']['fraction']:.0%} new"
                    " leads / the full one" + "".join(f" ({n})" for n in notes),
                    _x(ratio),
                    f"≤ {GOALS['incremental_vs_full']}",
                    ratio <= GOALS["incremental_vs_full"],
                )
            )
            cycle = sum(steps[k]["seconds"] for k in ("inc_load", "airflow_inc", "alerts_inc"))
            out.append(
                (
                    "freshness: load + `funnel_transform` + `funnel_alerts` of the increment",
                    f"{cycle:.0f} s",
                    f"≤ {GOALS['freshness_s']:.0f} s (one hourly cycle)",
                    cycle <= GOALS["freshness_s"],
                )
            )
    if r.get("checksums"):
        c = r["checksums"]
        out.append(
            (
                "checksums: full refresh equals incremental (same data, after the increment)",
                f"{'yes' if c['equal'] else 'no'} ({c['tables']} tables compared)",
                "yes",
                c["equal"],
            )
        )
    peaks = [(n, s["maxrss_mb"]) for n, s in land.items()]
    peaks += [(n, s["maxrss_mb"]) for n, s in steps.items()]
    name, peak = max(peaks, key=lambda p: p[1])
    out.append(
        (
            "peak memory of any measured process tree",
            f"{peak:,.0f} MB ({name})",
            "reported (no target)",
            None,
        )
    )
    return out


def write_benchmarks(block: str, path: Path) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if START_MARK in text and END_MARK in text:
        head, rest = text.split(START_MARK, 1)
        tail = rest.split(END_MARK, 1)[1].removeprefix("\n")
        text = head + block + tail
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--dealers", type=int, default=20)
    parser.add_argument("--years", type=int, default=1)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each landing step")
    parser.add_argument("--increment", type=float, default=0.01, help="share of new leads")
    parser.add_argument("--skip-dlt", action="store_true")
    parser.add_argument("--skip-transform", action="store_true", help="landing only")
    parser.add_argument(
        "--skip-noop",
        action="store_true",
        help="no no-op funnel_transform (saves a build; the incremental one is then the second"
        " build ever and starts from a copy of the published fct_leads)",
    )
    parser.add_argument("--skip-dag-parse", action="store_true")
    parser.add_argument("--cosmos", action="store_true", help="also the (slow) Cosmos run")
    parser.add_argument("--workdir", type=Path, help="keep files and logs here (default: temp)")
    parser.add_argument("--benchmarks", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--no-write", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args(argv)
    command_args = shlex.join(sys.argv[1:] if argv is None else argv)
    server_note = "WAREHOUSE_URL=<scratch server> " if os.environ.get("WAREHOUSE_URL") else ""

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp_name:
        work = args.workdir or Path(tmp_name)
        work.mkdir(parents=True, exist_ok=True)
        os.environ["DEALERFUNNEL_DATA_DIR"] = str(work / "var")
        os.environ["LANDING_DIR"] = str(work / "landing")
        os.environ.setdefault("DEALERFUNNEL_HOME", str(ROOT))
        server = _server_url(work)
        runner = Runner(work, verbose=False)
        load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        result: dict = {
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "command": f"{server_note}python -m bench {command_args}".strip(),
            "revision": _git_revision(),
            "cpus": os.cpu_count(),
            "load_before": load_before,
            # one as-of time for every dbt build of the run (dbt var as_of_at): the checksums
            # of the incremental build and the full refresh compare the same as-of figures
            "as_of_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "steps": {},
        }
        landing = work / "landing"
        shape = {"leads": args.leads, "dealers": args.dealers, "years": args.years}
        shape["seed"] = args.seed
        print(f"generating {args.leads:,} leads, {args.dealers} dealers, {args.years} years")
        made = generate_group(landing, **shape)
        result["group"] = shape | {
            "rows": made["rows"],
            "files": made["files"],
            "leads_rows": made["leads"],
            "stage_events": made["stage_events"],
            "followups": made["followups"],
            "seconds": made["seconds"],
        }
        print(f"  {made['rows']:,} rows in {made['files']:,} files, {made['seconds']:.1f}s")

        dlt_python = None
        if args.skip_dlt:
            result["dlt_skipped"] = "--skip-dlt"
        else:
            dlt_python, note = ensure_dlt()
            if dlt_python:
                result["dlt_version"] = note
            else:
                result["dlt_skipped"] = note
                print(f"  dlt not available: {note}")
        print("landing: bare COPY, load_landing, dlt (fresh database each)")
        result["landing"], url = bench_landing(runner, server, landing, args.repeat, dlt_python)
        for key in ("copy", "load", "dlt"):
            if key in result["landing"]:
                s = result["landing"][key]
                print(
                    f"  {key}: median {s['seconds']:.2f}s = {s['rows'] / s['seconds']:,.0f} rows/s"
                )
        load_totals = result["landing"]["load"]["totals"]
        if load_totals["rows_quarantined"]:
            print(f"  WARNING: the loader quarantined {load_totals['rows_quarantined']} rows")
        result["rerun"] = runner.step("load", url, landing=str(landing))

        try:
            if not args.skip_transform:
                bench_transform(
                    runner, url, result, landing, shape, args.increment, noop=not args.skip_noop
                )
            if args.cosmos:
                result["cosmos"] = _cosmos(runner, url)
        finally:
            _drop_database(server, url)

        if not args.skip_dag_parse:
            from bench.dag_parse import parse_times

            result["dag_parse"] = parse_times()
        result["load_after"] = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        result["goals"] = goals(result)
        block = render(result)
        print("\n" + block)
        if not args.no_write:
            write_benchmarks(block, args.benchmarks)
            print(f"written into {args.benchmarks}")
        if args.json:
            args.json.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
        return result


def _mem(step: dict) -> dict:
    return {"maxrss_mb": step["maxrss_mb"]}


def _transform(run: dict) -> dict:
    """funnel_transform's figures of an ``airflow`` step (its build, tasks, peak memory)."""
    return run["dags"]["funnel_transform"] | _mem(run)


def compare_checksums(incremental: dict[str, dict], full: dict[str, dict]) -> dict:
    """Which tables hold other rows after the full refresh than after the incremental build."""
    names = sorted(set(incremental) | set(full))
    differ = [n for n in names if incremental.get(n) != full.get(n)]
    return {
        "tables": len(names),
        "equal": not differ,
        "differ": differ,
        "rows": {n: full.get(n, incremental.get(n, {})).get("rows") for n in names},
    }


def bench_transform(
    runner: Runner,
    url: str,
    result: dict,
    landing: Path,
    shape: dict,
    increment: float,
    *,
    noop: bool = True,
) -> None:
    """The transform steps, in this order, every dbt build with the same ``as_of_at``:

    1. Airflow ``funnel_transform`` (the first build: a full refresh) + ``funnel_alerts``;
    2. ``funnel_transform`` again, no new data (the no-op hourly run; the second build ever: its
       candidate starts as a copy of the published ``fct_leads``, there is no ``marts_previous``);
    3. the increment loaded, ``funnel_transform`` (incremental: the candidate starts as the
       marts the first build published) + ``funnel_alerts``; checksums of the published marts
       and the incremental intermediates;
    4. ``funnel_transform`` with ``{"full_refresh": true}`` on the same data, the same
       checksums: the incremental build must hold exactly the rows of the full refresh;
    5. the bare ``dbt build`` (as ``build_candidate``, ``--full-refresh``) on the same data,
       after the checksums (it leaves its candidate behind).

    Without an increment, 3 and 4 are skipped; without ``noop``, 2.
    """
    steps = result["steps"]
    as_of = result["as_of_at"]
    print("transform: Airflow funnel_transform (first build, full refresh) + funnel_alerts")
    full = runner.step("airflow", url, name="airflow_full", as_of=as_of)
    steps["airflow_full"] = _transform(full)
    steps["alerts_full"] = full["dags"]["funnel_alerts"] | _mem(full)
    if noop:
        print("no-op hourly run: funnel_transform again, no new data")
        run = runner.step("airflow", url, name="airflow_noop", dags="funnel_transform", as_of=as_of)
        steps["airflow_noop"] = _transform(run)
    if increment:
        print(f"increment: {increment:.0%} new leads in new files, incremental funnel_transform")
        made = add_increment(landing, fraction=increment, **shape)
        result["increment"] = made | {"fraction": increment}
        steps["inc_load"] = runner.step("load", url, name="inc_load", landing=str(landing))
        inc = runner.step("airflow", url, name="airflow_inc", as_of=as_of)
        steps["airflow_inc"] = _transform(inc)
        steps["alerts_inc"] = inc["dags"]["funnel_alerts"] | _mem(inc)
        incremental = runner.step("checksums", url, name="checksums_inc")["tables"]
        print("full refresh of the same data: funnel_transform {full_refresh: true}")
        conf = json.dumps({"full_refresh": True})
        refresh = runner.step(
            "airflow", url, name="airflow_refresh", dags="funnel_transform", conf=conf, as_of=as_of
        )
        steps["airflow_refresh"] = _transform(refresh)
        refreshed = runner.step("checksums", url, name="checksums_full")["tables"]
        result["checksums"] = compare_checksums(incremental, refreshed)
        c = result["checksums"]
        print(
            f"  full refresh equals incremental: {'yes' if c['equal'] else 'no'}"
            f" ({c['tables']} tables compared)"
            + (f"; differ: {c['differ']}" if c["differ"] else "")
        )
    print("bare dbt build (as build_candidate), full refresh")
    steps["dbt_full"] = runner.step("dbt", url, name="dbt_full", full_refresh=True, as_of=as_of)
    result["tasks"] = {
        key: steps[key]["tasks"]
        for key in ("airflow_full", "airflow_noop", "airflow_inc", "airflow_refresh")
        if key in steps
    }


def _cosmos(runner: Runner, url: str) -> dict | None:
    command = [sys.executable, "-m", "bench.cosmos_overhead", "--url", url]
    proc = subprocess.run(command, capture_output=True, text=True, check=False, env=runner.env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        print("cosmos benchmark failed:\n" + (proc.stderr or proc.stdout)[-2000:])
        return None
    return json.loads(lines[-1].removeprefix("RESULT "))


if __name__ == "__main__":
    main()
