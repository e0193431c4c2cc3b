"""The layer lab's engine: layer graphs, their compilation and export, and the search.

Pure Python and PyTorch; nothing here imports Django, Celery, Channels or
Redis. Import the submodules you need (``search_engine.graph``,
``search_engine.compiler``, ``search_engine.codegen``, ...); this package
imports nothing itself so that ``import search_engine`` stays cheap.
"""
