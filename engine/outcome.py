"""What a console command did, and how it should be shown: a success, a warning (done in part, or nothing to do for
a reason the operator must know) or an error. Pages never show a failure in a success box."""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("success", "info", "warning", "error")


@dataclass(frozen=True)
class Outcome:
    level: str
    text: str

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}")

    def __str__(self) -> str:
        return self.text


def success(text: str) -> Outcome:
    return Outcome("success", text)


def info(text: str) -> Outcome:
    return Outcome("info", text)


def warning(text: str) -> Outcome:
    return Outcome("warning", text)


def error(text: str) -> Outcome:
    return Outcome("error", text)
