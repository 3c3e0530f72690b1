"""Log a warning once per key for the life of the process (config fallbacks, skipped metrics, ...)."""

from __future__ import annotations

import logging

_warned: set[str] = set()


def warn_once(logger: logging.Logger, key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        logger.warning(message)
