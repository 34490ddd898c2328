"""Cosmos (manifest load mode) against a bare ``dbt build`` on the same warehouse.

Run by ``python -m bench`` in a subprocess (Airflow reads its configuration at import, so it
gets its own ``AIRFLOW_HOME``). Prints one ``RESULT`` line of JSON:
``{"bare_build_s", "parse_s", "cosmos_dag_build_s", "cosmos_run_s", "tasks", "state"}``.

The Cosmos DAG renders every model, seed and its tests as Airflow tasks (test behaviour
``after_each``) and runs them with ``dag.test()``: the same work as ``dbt build``, as one
Airflow task per node, each copying the project to a temporary folder first.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

COSMOS_DAG_FILE = """# an airflow DAG (DagBag safe mode looks for both words)
import os
from pathlib import Path

from cosmos import DbtDag, ExecutionConfig, LoadMode, ProfileConfig, ProjectConfig, RenderConfig

project = Path(os.environ["COSMOS_BENCH_PROJECT"])
cosmos_bench = DbtDag(
    dag_id="cosmos_bench",
    project_config=ProjectConfig(
        dbt_project_path=project,
        manifest_path=os.environ["COSMOS_BENCH_MANIFEST"],
        project_name="dealer_funnel",
        install_dbt_deps=False,
    ),
    profile_config=ProfileConfig(
        profile_name="dealer_funnel",
        target_name="warehouse",
        profiles_yml_filepath=project / "profiles.yml",
    ),
    execution_config=ExecutionConfig(dbt_executable_path=os.environ["COSMOS_BENCH_DBT"]),
    render_config=RenderConfig(load_method=LoadMode.DBT_MANIFEST, emit_datasets=False),
    schedule=None,
    catchup=False,
)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cosmos_bench_"))
    os.environ.update(
        AIRFLOW_HOME=str(tmp / "airflow"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{tmp / 'airflow.db'}",
        AIRFLOW__CORE__DAGS_FOLDER=str(tmp / "dags"),
        DEALERFUNNEL_DATA_DIR=str(tmp / "var"),
    )
    from dealerfunnel.settings import dbt_project_dir
    from dealerfunnel.transform import dbt_env, run_dbt

    target = tmp / "target"
    started = time.perf_counter()
    run_dbt(["build"], args.url, target_path=target)
    bare = time.perf_counter() - started
    started = time.perf_counter()
    run_dbt(["parse"], args.url, target_path=target)
    parse = time.perf_counter() - started

    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    db.initdb()
    dags = tmp / "dags"
    dags.mkdir()
    (dags / "cosmos_bench.py").write_text(COSMOS_DAG_FILE, encoding="utf-8")
    os.environ.update(
        COSMOS_BENCH_MANIFEST=str(target / "manifest.json"),
        COSMOS_BENCH_PROJECT=str(dbt_project_dir()),
        COSMOS_BENCH_DBT=str(Path(sys.executable).with_name("dbt")),
    )
    os.environ.update({k: v for k, v in dbt_env(args.url).items() if k.startswith("DBT_")})
    started = time.perf_counter()
    dag = DagBag(dag_folder=str(dags)).get_dag("cosmos_bench")
    dag_build = time.perf_counter() - started
    started = time.perf_counter()
    run = dag.test()
    cosmos_run = time.perf_counter() - started
    result = {
        "bare_build_s": round(bare, 2),
        "parse_s": round(parse, 2),
        "cosmos_dag_build_s": round(dag_build, 2),
        "cosmos_run_s": round(cosmos_run, 2),
        "tasks": len(dag.tasks),
        "state": str(run.state),
    }
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
