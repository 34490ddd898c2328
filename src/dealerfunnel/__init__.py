"""Dealer lead-funnel warehouse: the logic behind the Airflow DAGs.

Sub-packages are named after what they do:

- ``warehouse``: connecting to PostgreSQL (or an embedded one), the ``raw``/``ops`` DDL;
- ``landing``: dealer CRM export files -> ``raw`` with COPY, quarantine of bad rows;
- ``synth``: the seeded synthetic dealer group used by ``make demo``;
- ``transform``: running dbt;
- ``quality``: Great Expectations checkpoints and Data Docs;
- ``alerts``: threshold rules and alert episodes in ``ops.alerts``.

Nothing here needs a scheduler; the DAG files in ``dags/`` only wire these functions.
"""
