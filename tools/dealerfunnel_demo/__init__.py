"""Demo and test support for the dealer lead-funnel warehouse; not part of the product.

- ``sandbox``: a local server reproducing each source API's wire format, paging, errors and
  rate limits, with fault injection;
- ``synth``: the seeded synthetic dealer group written as dealer export files;
- ``receivers``: local webhook and SMTP servers that capture notifications;
- ``databases``: throwaway databases on a test server;
- ``__main__``: ``make demo`` (``python -m dealerfunnel_demo``).

The runtime package ``dealerfunnel`` never imports this one (``tests/unit/test_layout.py``).
"""
