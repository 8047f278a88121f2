"""Readable output for the sandbox and the preview: the functions' logs and metrics kept off the terminal.

The functions log JSON lines (Powertools) and print their metrics (EMF) on stdout, as they should on Lambda.
Here their warnings are collected for the narration instead, and the request logs of the local servers are off.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout

from notifier.core.observability import logger as function_logger
from notifier.core.observability import metrics as function_metrics


class FunctionLogs(logging.Handler):
    """Keeps the functions' warnings and errors for the narration instead of printing JSON lines."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[logging.LogRecord]:
        taken, self.records = self.records, []
        return taken


_NOISY_LOGGERS = ("werkzeug", "botocore", "urllib3", "moto", "local.bedrock_emulator")


@contextmanager
def quiet_logs() -> Iterator[FunctionLogs]:
    """No request logs, no Powertools JSON lines: the functions' warnings go to the returned collector."""
    collector = FunctionLogs()
    saved_levels = {name: logging.getLogger(name).level for name in _NOISY_LOGGERS}
    functions = logging.getLogger(function_logger.name)  # the standard logger behind Powertools' Logger
    saved_handlers = list(functions.handlers)
    quiet = logging.NullHandler()
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("werkzeug").addHandler(quiet)  # with a handler werkzeug does not add its own
    for handler in saved_handlers:
        functions.removeHandler(handler)
    functions.addHandler(collector)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield collector
    finally:
        functions.removeHandler(collector)
        for handler in saved_handlers:
            functions.addHandler(handler)
        logging.getLogger("werkzeug").removeHandler(quiet)
        for name, level in saved_levels.items():
            logging.getLogger(name).setLevel(level)


@contextmanager
def metrics_discarded() -> Iterator[None]:
    """Powertools prints each invocation's metrics (EMF) on stdout; in the sandbox they are dropped."""
    with redirect_stdout(io.StringIO()):
        try:
            yield
        finally:
            function_metrics.clear_metrics()
