"""``python -m search_engine``: the command line (see :mod:`search_engine.cli`)."""

from search_engine.cli import main

raise SystemExit(main())
