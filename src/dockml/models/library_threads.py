"""How many threads the models' own libraries (scikit-learn's OpenMP code, XGBoost, LightGBM,
CatBoost) use: one while loading, the worker's share of the cores once serving.

Workers are forked after the models load. An OpenMP thread pool started in the loading process
does not survive a fork: the first parallel prediction in a worker then waits forever (GNU
libgomp), and the worker never becomes ready. So nothing runs OpenMP on more than one thread
until the worker runs, and each worker then takes its own share.

A library already in memory is limited through threadpoolctl; one that loads while the models
load (scikit-learn's compiled modules come with the first model that needs them) is not seen by
threadpoolctl then, so OMP_NUM_THREADS, which an OpenMP runtime reads as it starts, says 1 too.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator

from dockml.models import boosting
from dockml.models.base import Runtime, SklearnBacked


@contextlib.contextmanager
def one_while_loading() -> Iterator[None]:
    """OpenMP on one thread (no pool) for everything that runs inside."""
    with _environment("OMP_NUM_THREADS", "1"), _loaded_libraries_limited_to_one():
        yield


@contextlib.contextmanager
def _loaded_libraries_limited_to_one() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # no scikit-learn installed: no library here uses OpenMP
        yield
        return
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


@contextlib.contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            del os.environ[name]
        else:
            os.environ[name] = previous


def use(threads: int, runtimes: Iterable[Runtime]) -> None:
    """In the serving process: OpenMP, BLAS (whose OpenBLAS may have read OMP_NUM_THREADS=1 while
    loading) and the boosting libraries on ``threads`` threads."""
    estimators = [runtime.estimator for runtime in runtimes if isinstance(runtime, SklearnBacked)]
    if not estimators:
        return
    with contextlib.suppress(ImportError):
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)  # kept for the life of the process
    for estimator in estimators:
        boosting.use_threads(estimator, threads)
