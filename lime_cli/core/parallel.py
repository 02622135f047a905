"""Running chunks serially, on local processes, or on a Dask cluster."""

from __future__ import annotations

import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext

from ..errors import ParameterError


def run_chunks(func: Callable, tasks: Iterable[tuple], n_jobs: int, backend: str | None) -> Iterator:
    """``func(*task)`` for every task, results in task order.

    Serial when ``n_jobs == 1`` and no backend is named; otherwise joblib's
    ordered generator, which keeps at most a few chunks in flight per worker
    so memory stays bounded by the chunk size.
    """
    if n_jobs == 1 and backend is None:
        return (func(*t) for t in tasks)
    from joblib import Parallel, delayed, parallel_config

    # a run stopped early (Ctrl-C, an error) abandons the generator on purpose: joblib's advice
    # about the tasks it then drops ("N tasks have been successfully executed but not used", "N tasks
    # which were still being processed ... have been cancelled", or both) is no news to the user, who
    # already has one Error line; every form ends with the same advice
    warnings.filterwarnings("ignore", message=r"(?s).*You could benefit from adjusting the input task")

    def generate():
        with parallel_config(backend=backend) if backend else nullcontext():
            quiet_loky_starts()
            if backend in (None, "loky"):  # the processes whose shared memory loky's tracker keeps
                quiet_resource_tracker()
            yield from Parallel(n_jobs=n_jobs, return_as="generator", pre_dispatch="2*n_jobs")(
                delayed(as_worker)(func, *t) for t in tasks
            )

    return generate()


def quiet_loky_starts() -> None:
    """Make joblib's loky start each worker process in a session of its own.

    Ctrl-C reaches every process of the terminal's process group, and a worker
    that has not finished starting prints a traceback.  In a session of its own
    a worker gets no signal from the terminal: the ``lime`` process alone takes
    the Ctrl-C (or the SIGTERM of a CI runner, sent to the group), and stops the
    workers itself.  (Ignoring SIGINT while a worker is forked would do it too,
    but a Ctrl-C in that moment would then be lost.)
    """
    try:
        from joblib.externals.loky.backend import fork_exec as module
    except ImportError:  # another platform or joblib layout: workers start as joblib starts them
        return
    original = module.fork_exec
    if getattr(original, "lime_cli_quiet", False):
        return

    def fork_exec(*args, **kwargs):
        with children_in_own_sessions():
            return original(*args, **kwargs)

    fork_exec.lime_cli_quiet = True
    module.fork_exec = fork_exec


def quiet_resource_tracker() -> None:
    """Start loky's resource tracker, if it is not running, so that it says nothing.

    The tracker (a process of its own, writing to this one's stderr) removes what the
    workers' shared memory left behind when this process exits without doing it: after a
    Ctrl-C or SIGTERM that lands while joblib sets up its memory-mapped folder.  It then
    warns "There appear to be 1 leaked folder objects to clean up at shutdown" below the
    run's one Error line.  It still cleans up; only its warnings are off (it takes the
    ``-W`` options of the process that starts it), those of a failed clean-up too: the
    user could not act on them."""
    try:
        from joblib.externals.loky.backend import resource_tracker
    except ImportError:  # another joblib layout: the tracker starts as joblib starts it
        return
    quiet = "ignore:resource_tracker:UserWarning"
    saved = list(sys.warnoptions)
    sys.warnoptions.append(quiet)
    try:
        resource_tracker.ensure_running()
    finally:
        sys.warnoptions[:] = saved


_SESSIONS_LOCK = threading.RLock()


@contextmanager
def children_in_own_sessions() -> Iterator[None]:
    """While active, every process this one starts through ``_posixsubprocess.fork_exec``
    (subprocess, multiprocessing's spawn, loky) calls setsid() before exec: the terminal's
    Ctrl-C then reaches the ``lime`` process alone, which stops its workers itself.

    ``fork_exec``'s ``call_setsid`` argument is its 16th in every Python since 3.2.  Where
    ``_posixsubprocess`` is missing (another platform), children start as they would.
    """
    try:
        import _posixsubprocess
    except ImportError:
        yield
        return
    with _SESSIONS_LOCK:
        real = _posixsubprocess.fork_exec
        if getattr(real, "lime_cli_setsid", False):  # already active (nested)
            yield
            return

        def in_own_session(*a, **kw):
            if len(a) > 15 and isinstance(a[15], bool):
                a = (*a[:15], True, *a[16:])
            return real(*a, **kw)

        in_own_session.lime_cli_setsid = True
        _posixsubprocess.fork_exec = in_own_session
        try:
            yield
        finally:
            _posixsubprocess.fork_exec = real


_IN_WORKER = threading.local()


def inner_threads() -> int:
    """Threads for a chunk's own numpy work: the usable cores, or 1 inside a worker
    (``--jobs`` and Dask workers already use every core)."""
    if getattr(_IN_WORKER, "active", False):
        return 1
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


_POOLS: dict[tuple[str, int], ThreadPoolExecutor] = {}
# a forked child has none of the parent's threads: it starts pools of its own
os.register_at_fork(after_in_child=_POOLS.clear)


def _pool(name: str, threads: int) -> ThreadPoolExecutor:
    """The shared pool ``name`` of ``threads`` threads, made on first use."""
    pool = _POOLS.get((name, threads))
    if pool is None:
        pool = _POOLS[name, threads] = ThreadPoolExecutor(threads, thread_name_prefix=name)
    return pool


def run_threads(func: Callable, items: list, threads: int) -> list:
    """``[func(item) for item in items]``, on up to ``threads`` threads of a shared pool.

    For numpy work that releases the GIL; each item must depend only on its own
    inputs (or write only its own part of a shared result), so the outcome does
    not depend on the thread count.
    """
    if threads <= 1 or len(items) <= 1:
        return [func(item) for item in items]
    return list(_pool("lime-cli", threads).map(func, items))  # in order; re-raises the first error


def in_background(func: Callable, *args) -> Future:
    """``func(*args)`` started on a thread of its own (one, shared: calls run in turn, apart from
    :func:`run_threads`' pools), while the caller goes on; its Future gives the result or raises
    its error."""
    return _pool("lime-cli-background", 1).submit(func, *args)


def as_worker(func: Callable, *args):
    """Run a chunk in a worker with the model's own joblib calls kept sequential.

    The workers already use every core; and a model such as a random forest
    sums its trees in completion order when it runs them in parallel, which
    would make its predictions differ from a serial run in the last bit.
    """
    from joblib import parallel_config

    _IN_WORKER.active = True
    try:
        with parallel_config(backend="sequential"):
            return func(*args)
    finally:
        _IN_WORKER.active = False


class _signals_deferred:
    """Within it (in the main thread), SIGINT, SIGTERM and SIGHUP are recorded, not acted on;
    :meth:`deliver` raises the first one recorded, through the handler in force again."""

    def __enter__(self) -> _signals_deferred:
        self.taken: list[int] = []
        self.previous: dict = {}
        if threading.current_thread() is threading.main_thread():
            for name in ("SIGINT", "SIGTERM", "SIGHUP"):
                if hasattr(signal, name):
                    sig = getattr(signal, name)
                    self.previous[sig] = signal.signal(sig, lambda signum, frame: self.taken.append(signum))
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def deliver(self) -> None:
        if self.taken:
            signal.raise_signal(self.taken[0])


@contextmanager
def dask_client(address: str) -> Iterator[object]:
    """A ``distributed.Client`` for ``address``, or for a LocalCluster if it is ``local``.

    The local cluster listens on the loopback address only, with one
    single-threaded worker process per core.  Its workers start in sessions of
    their own (a Ctrl-C reaches the ``lime`` process alone, which closes the
    cluster), and Dask's own log lines are silenced: a failed task reaches the
    caller as its exception, and closing the cluster on an interrupt would
    otherwise log every task it cancels.
    """
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ParameterError("--dask needs the distributed package: pip install 'lime-cli[dask]'") from None
    if address == "local":
        import logging

        # a cluster interrupted while it starts cannot be closed (Dask then prints tracebacks at
        # exit): a signal that comes meanwhile is taken once the cluster and its client are up
        with _signals_deferred() as deferred:
            with children_in_own_sessions():
                cluster = LocalCluster(
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    silence_logs=logging.CRITICAL + 10,  # every level
                )
            try:
                client = Client(cluster)
                from ._dask_quiet import QuietClose

                client.register_plugin(QuietClose(), name="lime-cli-quiet-close")
            except BaseException:
                cluster.close()
                raise
        with cluster, client:
            deferred.deliver()
            yield client
        return
    try:
        client = Client(address, timeout=10)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ParameterError(f"--dask {address}: cannot reach the scheduler ({exc})") from None
    with client:
        yield client
