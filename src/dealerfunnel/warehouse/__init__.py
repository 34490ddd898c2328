"""The PostgreSQL warehouse: where it is, how to reach it, and the pipeline-owned schemas."""

from dealerfunnel.warehouse.connection import (
    WarehouseUnreachable,
    check_reachable,
    connect,
    mask_url,
    resolve_warehouse_url,
    task_warehouse_url,
)
from dealerfunnel.warehouse.schema import ensure_schema

__all__ = [
    "WarehouseUnreachable",
    "check_reachable",
    "connect",
    "ensure_schema",
    "mask_url",
    "resolve_warehouse_url",
    "task_warehouse_url",
]
