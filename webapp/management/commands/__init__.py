"""``manage.py lab`` (run everything) and ``manage.py gpu_workers`` (one worker per GPU slot)."""
