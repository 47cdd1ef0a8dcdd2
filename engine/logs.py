"""Logging (seed 001): readable console lines and a JSON-lines file under ``data/logs/``; secrets never appear.

Every configured credential is masked (``68da...97a4``) wherever it would appear in a message or its
arguments, on both handlers.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from pathlib import Path

from engine.clock import iso8601
from engine.config import AppConfig, Secret, mask_secret

CONSOLE_FORMAT = "%(asctime)s | %(levelname)-8s | %(name)-22s | %(message)s"
_HANDLER_TAG = "_mm_console_handler"


class RedactSecrets(logging.Filter):
    """Replaces each secret's value with its masked preview in the rendered message."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        for s in self.secrets:
            if s in message:
                message = message.replace(s, mask_secret(s))
            if record.exc_text and s in record.exc_text:
                record.exc_text = record.exc_text.replace(s, mask_secret(s))
        record.msg, record.args = message, None
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: timestamp, level, logger, message (and the exception, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "timestamp": iso8601(int(record.created * 1000)),  # one time format everywhere: ...T19:06:25.123Z
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class LogFile(logging.handlers.RotatingFileHandler):
    """The JSON-lines file. A write that fails (a full disk, a removed folder) is reported on stderr in one line, once
    per outage, instead of a traceback per log line; lines are dropped until the file can be written again."""

    failing = False

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        if self.failing and self.stream is not None and not getattr(self, "_failed_now", False):
            self.failing = False
            sys.stderr.write(f"logging: {self.baseFilename} is writable again\n")
        self._failed_now = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        self._failed_now = True
        if self.failing:
            return
        self.failing = True
        exc = sys.exc_info()[1]
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        sys.stderr.write(f"logging: cannot write {self.baseFilename} ({reason}); log lines are dropped until it can "
                         "be written: free disk space or fix logging.dir\n")


def configured_secrets(config: AppConfig) -> list[str]:
    values: list[Secret | None] = [config.telegram.bot_token]
    for c in config.credentials.values():
        values += [c.api_key, c.api_secret, c.passphrase]
    return [v.reveal() for v in values if v]


class SchedulerEchoes(logging.Filter):
    """Drops APScheduler's own lines for a skipped or missed run: the engine's job listener logs each of them once,
    in its words (``job quote skipped: the previous run is still going``)."""

    ECHOES = ("maximum number of running instances reached", "was missed by")

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("apscheduler"):
            return True
        text = record.getMessage()
        return not any(e in text for e in self.ECHOES)


def setup_logging(config: AppConfig, root: Path | None = None, console: bool = True) -> Path:
    """Install the console and JSON-lines handlers once per process; returns the log file's path."""
    from engine.config import PROJECT_ROOT

    log_dir = Path(config.logging.dir)
    if not log_dir.is_absolute():
        log_dir = (root or PROJECT_ROOT) / log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / config.logging.json_file
    logger = logging.getLogger()
    logger.setLevel(config.logging.level)
    for h in list(logger.handlers):
        if getattr(h, _HANDLER_TAG, False):
            logger.removeHandler(h)
            h.close()
    redact = RedactSecrets(configured_secrets(config))
    handlers: list[logging.Handler] = [LogFile(path, maxBytes=20_000_000, backupCount=5, encoding="utf-8")]
    handlers[0].setFormatter(JsonLines())
    if console:
        stream = logging.StreamHandler()
        stream.setFormatter(logging.Formatter(CONSOLE_FORMAT, "%Y-%m-%d %H:%M:%S"))
        handlers.append(stream)
    for h in handlers:
        h.addFilter(redact)
        h.addFilter(SchedulerEchoes())
        setattr(h, _HANDLER_TAG, True)
        logger.addHandler(h)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return path
