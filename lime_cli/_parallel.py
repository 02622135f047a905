"""Running chunks serially, on local processes, or on a Dask cluster."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext

from .errors import ParameterError


def run_chunks(func: Callable, tasks: Iterable[tuple], n_jobs: int, backend: str | None) -> Iterator:
    """``func(*task)`` for every task, results in task order.

    Serial when ``n_jobs == 1`` and no backend is named; otherwise joblib's
    ordered generator, which keeps at most a few chunks in flight per worker
    so memory stays bounded by the chunk size.
    """
    if n_jobs == 1 and backend is None:
        return (func(*t) for t in tasks)
    from joblib import Parallel, delayed, parallel_config

    def generate():
        with parallel_config(backend=backend) if backend else nullcontext():
            yield from Parallel(n_jobs=n_jobs, return_as="generator", pre_dispatch="2*n_jobs")(
                delayed(_in_worker)(func, *t) for t in tasks
            )

    return generate()


def _in_worker(func: Callable, *args):
    """Run a chunk in a worker with the model's own joblib calls kept sequential.

    The workers already use every core; and a model such as a random forest
    sums its trees in completion order when it runs them in parallel, which
    would make its predictions differ from a serial run in the last bit.
    """
    from joblib import parallel_config

    with parallel_config(backend="sequential"):
        return func(*args)


@contextmanager
def dask_client(address: str) -> Iterator[object]:
    """A ``distributed.Client`` for ``address``, or for a LocalCluster if it is ``local``.

    The local cluster listens on the loopback address only, with one
    single-threaded worker process per core.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ParameterError("--dask needs the distributed package: pip install 'lime-cli[dask]'") from None
    if address == "local":
        with (
            LocalCluster(
                threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
        return
    try:
        client = Client(address, timeout=10)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParameterError(f"--dask {address}: cannot reach the scheduler ({exc})") from None
    with client:
        yield client
