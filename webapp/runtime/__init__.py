"""Running the application on one machine: the embedded Redis and child-process supervision.

Used by ``manage.py lab`` (everything on one host), ``manage.py gpu_workers``
(one Celery process per GPU slot) and the test fixtures that start the stack.
Nothing here imports Django models, so it is safe to import before setup.
"""
