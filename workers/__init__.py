"""RQ side of AmzInsight: job functions, the worker and the rq-scheduler process (thin wrappers)."""
