"""Run the sandbox on a free loopback port: ``with run_sandbox() as sb: sb.base_url``.

Also a command: ``python -m dealerfunnel_demo.sandbox.server [--port N] [--fault-rate 0.2]``
serves until interrupted and prints the base URL and the ``AIRFLOW_CONN_*`` values that point the
connectors at it.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn

from dealerfunnel_demo.sandbox.core import Faults, Sandbox, SandboxApi
from dealerfunnel_demo.sandbox.world import DataSpec, World

ApiFactory = Callable[[World, Sandbox], SandboxApi]


def default_api_factories() -> list[ApiFactory]:
    """Every sandbox API. A new API adds its factory here (one line)."""
    from dealerfunnel_demo.sandbox.eventbrite import EventbriteApi
    from dealerfunnel_demo.sandbox.google_ads import GoogleAdsApi
    from dealerfunnel_demo.sandbox.hubspot import HubSpotApi
    from dealerfunnel_demo.sandbox.meta import MetaApi
    from dealerfunnel_demo.sandbox.salesforce import SalesforceApi

    return [MetaApi, GoogleAdsApi, SalesforceApi, HubSpotApi, EventbriteApi]


def build_sandbox(
    world: World | None = None,
    faults: Faults | None = None,
    factories: Sequence[ApiFactory] | None = None,
    **api_options: Any,
) -> Sandbox:
    world = world or World()
    sandbox = Sandbox([], faults)  # the APIs are added next: they need a reference to it
    for factory in factories or default_api_factories():
        try:
            api = factory(world, sandbox, **api_options)
        except TypeError:
            api = factory(world, sandbox)
        sandbox.apis[api.prefix] = api
    sandbox.world = world
    return sandbox


@dataclass
class RunningSandbox:
    base_url: str
    sandbox: Sandbox
    world: World

    def connections(self) -> dict[str, dict[str, Any]]:
        """Airflow Connections (JSON form) by conn id, pointing at this sandbox.

        Each pins the first day of a first extract (``extra.start_date``) to the first day of
        the sandbox's data, so that the demo reads all of it whatever ``backfill_days`` says.
        """
        out = {}
        first_day = self.world.start.date().isoformat()
        for api in self.sandbox.apis.values():
            conn_id = (self.world.sources.get(api.name) or {}).get("conn_id", api.name)
            conn = api.connection(self.base_url)
            conn["extra"] = {**(conn.get("extra") or {}), "start_date": first_day}
            out[conn_id] = conn
        return out

    def airflow_env(self) -> dict[str, str]:
        """``AIRFLOW_CONN_<ID>`` environment variables for :meth:`connections`."""
        return {
            f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(conn)
            for conn_id, conn in self.connections().items()
        }


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextmanager
def run_sandbox(
    sandbox: Sandbox | None = None, *, port: int = 0, **build_options: Any
) -> Iterator[RunningSandbox]:
    """Serve ``sandbox`` (default: :func:`build_sandbox`) from a background thread."""
    sandbox = sandbox or build_sandbox(**build_options)
    if port:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(128)
    else:
        sock = _free_socket()
    host, bound_port = sock.getsockname()[:2]
    config = uvicorn.Config(
        sandbox.app(), log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=30
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="api-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API sandbox did not start")
        time.sleep(0.01)
    try:
        yield RunningSandbox(f"http://{host}:{bound_port}", sandbox, sandbox.world)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="dealerfunnel_demo.sandbox")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--leads-per-week", type=float, default=DataSpec.leads_per_week)
    args = parser.parse_args(argv)
    world = World(DataSpec(leads_per_week=args.leads_per_week))
    with run_sandbox(build_sandbox(world, Faults(rate=args.fault_rate)), port=args.port) as running:
        print(f"sandbox: {running.base_url}", flush=True)
        for key, value in running.airflow_env().items():
            print(f"export {key}='{value}'", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
