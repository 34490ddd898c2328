"""A local stand-in for the source APIs (DESIGN.md section 3): their endpoints, paging, error
bodies and rate limits, serving the synthetic dealer group, with faults on demand.

Usage::

    from dealerfunnel_demo.sandbox import Faults, build_sandbox, run_sandbox

    with run_sandbox(faults=Faults(rate=0.2)) as sb:
        os.environ.update(sb.airflow_env())  # AIRFLOW_CONN_META_ADS, AIRFLOW_CONN_GOOGLE_ADS
        ...                                  # run the connectors
        sb.sandbox.truth()                   # {raw table: {account: {record_id: payload}}}

Adding an API (e.g. Salesforce): write ``sandbox/salesforce.py`` with a class implementing
:class:`~dealerfunnel_demo.sandbox.core.SandboxApi` (``name``, ``prefix``, ``router()``,
``error_response(kind)``, ``truth()``, ``broken()``, ``connection(base_url)``), built as
``SalesforceApi(world, sandbox)``, and add it to
:func:`~dealerfunnel_demo.sandbox.server.default_api_factories`. Use ``world.rng(name, dealer)``
for its data, ``world.now`` for visibility, ``sandbox.perturb(page, previous)`` for
duplicate / out-of-order records; the core injects the HTTP-level faults.
"""

from dealerfunnel_demo.sandbox.core import FAULT_KINDS, Faults, Sandbox, SandboxApi
from dealerfunnel_demo.sandbox.server import RunningSandbox, build_sandbox, run_sandbox
from dealerfunnel_demo.sandbox.world import DataSpec, World

__all__ = [
    "FAULT_KINDS",
    "DataSpec",
    "Faults",
    "RunningSandbox",
    "Sandbox",
    "SandboxApi",
    "World",
    "build_sandbox",
    "run_sandbox",
]
