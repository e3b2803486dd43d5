"""The executor seam for executor plugins: re-exported from :mod:`adf_core.engine.executors`."""

from adf_core.engine.executors import (
    Executor,
    ThreadExecutor,
    executor_address,
    executor_names,
    get_factory,
    pickle_problem,
    portable,
    worker_count,
)

__all__ = ["Executor", "ThreadExecutor", "executor_address", "executor_names", "get_factory",
           "pickle_problem", "portable", "worker_count"]
