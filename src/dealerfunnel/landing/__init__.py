"""Dealer CRM export files in the landing folder -> ``raw`` tables, bad rows -> quarantine.

See :mod:`dealerfunnel.landing.files` for the loading rules and
:mod:`dealerfunnel.landing.parsing` for what a valid file, row and timestamp look like.
"""

from dealerfunnel.landing.files import load_landing, register_dealers

__all__ = ["load_landing", "register_dealers"]
