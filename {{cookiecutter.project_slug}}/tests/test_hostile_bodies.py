"""The worst bodies a client can send within MAX_CONTENT_LENGTH, one per step of the request
path (parse, repeated keys, validation, error building): each is answered with a 4xx in the
error shape, and the answer stays small however large the body.

What each costs in CPU is measured by ``benchmarks/worst_case_bodies.py`` in the template: a
benchmark, because timings on a shared machine make flaky tests.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from {{ cookiecutter.package_name }}.model.features import FEATURES
from {{ cookiecutter.package_name }}.service.records import parse_json

LIMIT = 1024 * 1024  # MAX_CONTENT_LENGTH's default
#: The most an error answer may take, whatever the body: 50 problems and a message.
MAX_ANSWER_BYTES = 16 * 1024


def fill(prefix: str, item: str, suffix: str, separator: str = ",") -> str:
    """``prefix`` + as many ``item`` as fit under LIMIT + ``suffix``."""
    count = (LIMIT - len(prefix) - len(suffix) - 100) // (len(item) + len(separator))
    return prefix + separator.join([item] * count) + suffix


def numbered_keys() -> str:
    room = LIMIT - 100
    keys, size = [], 0
    while size < room:
        keys.append(f'"k{len(keys)}":1')
        size += len(keys[-1]) + 1
    return '{"instances":[{' + ",".join(keys[:-1]) + "}]}"


BATCH = 1000  # MAX_BATCH_SIZE's default
#: Room for one record when a batch of BATCH records fills LIMIT.
RECORD_BYTES = (LIMIT - 100) // BATCH - 1


def wrong_record() -> str:
    """A record whose every feature is a long string: the wrong type for every feature type."""
    value = "x" * ((RECORD_BYTES - 2) // len(FEATURES) - max(map(len, FEATURES)) - 6)
    return "{" + ",".join(f'"{name}":"{value}"' for name in FEATURES) + "}"


def unknown_keys_record() -> str:
    """A record of 50 unknown keys, as long as fits: the most a record may have without being
    refused whole."""
    width = (RECORD_BYTES - 2) // 50 - 5
    return "{" + ",".join(f'"{index:0{width}d}":1' for index in range(50)) + "}"


def batch_of(record: str) -> str:
    return '{"instances":[' + ",".join([record] * BATCH) + "]}"


# (what it is, the body, the status, the error code)
WORST_BODIES: list[tuple[str, Callable[[], str], int, str]] = [
    ("one record of unknown keys", numbered_keys, 422, "validation_error"),
    ("one key repeated", lambda: fill('{"instances":[{', '"a":1', "}]}"), 400, "malformed_json"),
    ("one huge key", lambda: fill('{"instances":[{"', "x", '":1}]}', ""), 422, "validation_error"),
    (
        "nested arrays",
        lambda: "[" * (LIMIT // 2 - 50) + "]" * (LIMIT // 2 - 50),
        400,
        "malformed_json",
    ),
    ("wrong records", lambda: batch_of(wrong_record()), 422, "validation_error"),
    (
        "a huge number",
        lambda: fill('{"instances":[{"' + FEATURES[0] + '":', "1", "}]}", ""),
        400,
        "malformed_json",
    ),
    (
        "lone surrogates",
        lambda: fill('{"instances":[{"', "\\ud800", '":1}]}', ""),
        400,
        "malformed_json",
    ),
    (
        "unknown keys in every record",
        lambda: batch_of(unknown_keys_record()),
        422,
        "validation_error",
    ),
    ("too many records", lambda: fill('{"instances":[', "{}", "]}"), 422, "validation_error"),
]


@pytest.mark.parametrize(
    ("make_body", "status", "code"),
    [case[1:] for case in WORST_BODIES],
    ids=[case[0] for case in WORST_BODIES],
)
def test_a_worst_case_body_gets_a_small_error(
    client: FlaskClient, make_body: Callable[[], str], status: int, code: str
) -> None:
    body = make_body().encode()
    assert 0.95 * LIMIT < len(body) <= LIMIT  # as large as the service takes
    response = client.post("/v1/predict", data=body, content_type="application/json")
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.get_json()["error"]["code"] == code
    assert len(response.data) < MAX_ANSWER_BYTES


def test_validation_stops_once_the_answer_is_full(client: FlaskClient) -> None:
    body = batch_of(wrong_record())
    error = client.post("/v1/predict", data=body, content_type="application/json").get_json()
    assert len(error["error"]["fields"]) <= 50
    assert error["error"]["fields"]["instances"][0].startswith("Checked items 0 to ")
    assert f"of {BATCH}, then stopped" in error["error"]["message"]


def test_an_object_of_many_keys_is_refused_whole(client: FlaskClient) -> None:
    error = client.post(
        "/v1/predict", data=numbered_keys(), content_type="application/json"
    ).get_json()["error"]
    assert list(error["fields"]) == ["instances.0"]
    assert error["fields"]["instances.0"][0].startswith("Has ")
    assert ", ".join(FEATURES) in error["fields"]["instances.0"][0]


def test_a_long_key_is_cut_where_it_is_repeated(client: FlaskClient) -> None:
    key = "k" * 10_000
    body = '{"instances":[{"' + key + '":1}]}'
    error = client.post("/v1/predict", data=body, content_type="application/json").get_json()
    assert f"instances.0.{'k' * 100}..." in error["error"]["fields"]
    duplicate = '{"' + key + '":1,"' + key + '":2}'
    message = client.post("/v1/predict", data=duplicate, content_type="application/json")
    assert len(message.get_json()["error"]["message"]) < 300


@pytest.mark.parametrize(
    "text",
    ['{"id": "\\ud800"}', '{"\\udc00": 1}', '["\\ud83d"]', b'{"id": "\xed\xa0\x80"}'],
)
def test_lone_surrogates_and_invalid_utf8_are_not_json_text(text: str | bytes) -> None:
    with pytest.raises(ValueError, match=r"surrogate|codec"):
        parse_json(text)


def test_surrogate_pairs_and_escaped_backslashes_are_text() -> None:
    assert parse_json('{"face": "\\ud83d\\ude00"}') == {"face": "\U0001f600"}
    assert parse_json('["\\\\ud800"]') == ["\\ud800"]


def test_a_lone_surrogate_in_feedback_is_a_400(client: FlaskClient) -> None:
    body = '{"feedback": [{"id": "\\ud800", "actual": 1}]}'
    response = client.post("/v1/feedback", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"
