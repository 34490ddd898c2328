"""Threshold rules over the marts, and alert episodes in ``ops.alerts``."""

from dealerfunnel.alerts.episodes import evaluate_rules
from dealerfunnel.alerts.rules import Rule, load_rules

__all__ = ["Rule", "evaluate_rules", "load_rules"]
