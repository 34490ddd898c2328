"""Running dbt against the warehouse."""

from dealerfunnel.transform.runner import DbtFailed, dbt_env, run_dbt

__all__ = ["DbtFailed", "dbt_env", "run_dbt"]
