"""Dealer CRM export files in the landing folder -> ``raw`` tables, bad rows -> quarantine.

See :mod:`dealerfunnel.landing.files` for the loading rules and
:mod:`dealerfunnel.landing.parsing` for what a valid file, row and timestamp look like.
:func:`list_landing`, :func:`load_dealer_folder` and :func:`merge_reports` are the steps of
:func:`load_landing`, for an orchestrator that loads each dealer folder as its own task.
"""

from dealerfunnel.landing.files import (
    list_landing,
    load_dealer_folder,
    load_landing,
    merge_reports,
    register_dealers,
)

__all__ = [
    "list_landing",
    "load_dealer_folder",
    "load_landing",
    "merge_reports",
    "register_dealers",
]
