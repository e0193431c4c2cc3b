"""Writes: every change to the lab's data goes through a function here.

Functions are keyword-only and named ``<entity>_<action>``. The Celery tasks
in ``workers/`` call the candidate, rerank and search functions
(docs/INTERFACES.md, section 3), importing them from their modules
(``webapp.services.candidates``, ``webapp.services.rerank``,
``webapp.services.advance``) or from this package.
"""
