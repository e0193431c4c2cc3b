"""Tests of the engine (``search_engine/``); a package so helpers import as ``tests.search_engine.*``."""
