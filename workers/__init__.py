"""Celery workers: the app (``celery_app``), thin tasks, the heartbeat thread and GPU slot pinning.

Tasks hold no search state between runs; they translate ids, call
``webapp.services`` or the engine, and record what happened.
"""
