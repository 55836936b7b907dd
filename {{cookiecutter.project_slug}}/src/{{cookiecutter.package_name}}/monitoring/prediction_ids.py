"""Prediction ids: ``<request prefix>-<record index>``, the prefix telling when it was issued."""

from __future__ import annotations

import re
import secrets
import time
from datetime import UTC, datetime

#: Longest prediction id the log holds (ids are 32 hex digits, a dash and the record's index).
ID_LENGTH = 64

#: A record's index as ids write it: no sign, no leading zero (``-07`` would name ``-7`` again).
_INDEX = r"(?:0|[1-9][0-9]{0,8})"
ISSUED_ID = re.compile(r"([0-9a-f]{12})[0-9a-f]{20}-" + _INDEX)
_ANY_PREDICTION_ID = re.compile(r"(.+)-(" + _INDEX + ")")
#: The length of the prefix of the ids this service issues.
PREFIX_LENGTH = 32


def new_id_prefix() -> str:
    """The prefix of one request's prediction ids (each adds ``-<index>``): 32 hex digits,
    the time in milliseconds then 80 random bits, so that an id tells when it was issued."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def split_id(prediction_id: str) -> tuple[str, int] | None:
    """The request (its id prefix) and the record's index a prediction id names; None if it
    is not a prediction id."""
    match = _ANY_PREDICTION_ID.fullmatch(prediction_id)
    if match is None or len(prediction_id) > ID_LENGTH:
        return None
    return match[1], int(match[2])


def issued_at(prediction_id: str) -> datetime | None:
    """When this service issued ``prediction_id``; None if it is not one of its ids."""
    match = ISSUED_ID.fullmatch(prediction_id)
    if match is None:
        return None
    return datetime.fromtimestamp(int(match[1], 16) / 1000, UTC)
