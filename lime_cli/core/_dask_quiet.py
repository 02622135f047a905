"""A Dask worker plugin for lime-cli's local cluster (imported only where Dask is)."""

from __future__ import annotations

import sys

from distributed.diagnostics.plugin import WorkerPlugin


class QuietClose(WorkerPlugin):
    """Once the worker closes, nothing it tears down prints.

    A worker that held futures made a client of its own; closing that client
    after the cluster's loop stopped (an interrupted run) prints "Exception
    ignored in Client.__del__" on the terminal that local workers share with
    ``lime``.  The run's own errors reach ``lime`` through its tasks.
    """

    idempotent = True

    def teardown(self, worker) -> None:
        sys.unraisablehook = lambda unraisable: None
