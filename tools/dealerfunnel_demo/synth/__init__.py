"""The seeded synthetic dealer group behind ``make demo`` and the tests (see :mod:`.generator`)."""

from dealerfunnel_demo.synth.generator import generate

__all__ = ["generate"]
