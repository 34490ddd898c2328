"""Facts that two layers need: one home, and a test where the other layer must repeat it."""

from __future__ import annotations

import yaml

from dealerfunnel.settings import DEFAULT_TIMEZONE, dbt_project_dir


def test_dbt_default_dealer_timezone_is_the_python_default():
    # dbt needs the fallback time zone as a var for a lead whose dealer is not in ops.dealers
    project = yaml.safe_load((dbt_project_dir() / "dbt_project.yml").read_text())
    assert project["vars"]["default_dealer_timezone"] == DEFAULT_TIMEZONE
