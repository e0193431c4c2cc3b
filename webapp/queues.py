"""Queue and task names, shared by the web app's producer (``webapp.services.dispatch``) and
the Celery app (``workers.celery_app``), so the two can never disagree.

Imports nothing: the web app never imports ``workers``, and the Celery app loads this before
Django is set up.
"""

EVAL_QUEUE = "eval"  # evaluations and rerank jobs: minutes to hours, one per worker process
CONTROL_QUEUE = "control"  # short bookkeeping: advance a search, reap, recover

TASK_EVALUATE = "workers.tasks.evaluate_candidate"
TASK_RERANK = "workers.tasks.rerank_candidate"
TASK_ADVANCE = "workers.tasks.advance_search"
TASK_REAP = "workers.tasks.reap_stale_candidates"
TASK_RECOVER = "workers.tasks.recover_queued_work"

# Which queue each task goes to.
TASK_QUEUES = {
    TASK_EVALUATE: EVAL_QUEUE,
    TASK_RERANK: EVAL_QUEUE,
    TASK_ADVANCE: CONTROL_QUEUE,
    TASK_REAP: CONTROL_QUEUE,
    TASK_RECOVER: CONTROL_QUEUE,
}
