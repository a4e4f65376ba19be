"""Which refused stdio lines get an answer, and with which id (the SDK's own parser refuses them)."""

from __future__ import annotations

import mcp_types as types
import pytest
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

from fw_mcp.stdio_answers import triage

DEEP = "[" * 100_000 + "]" * 100_000


def refusal(line: str) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    return caught.value


@pytest.mark.parametrize(
    ("line", "id_", "code"),
    [
        ('{"jsonrpc": "2.0", "id": 1, "method": "ping", "params": {"n": ' + "1" * 4400 + "}}", 1, -32700),
        ('{"jsonrpc": "2.0", "method": "ping", "params": {"a": ' + DEEP + '}, "id": "late"}', "late", -32700),
        ('{"id": 2, "jsonrpc": "2.0", "method": "tools/list", ', 2, -32700),
        ('{"jsonrpc": "2.0", "id": 3, "method": "ping", "params": [1]}', 3, -32600),
        ('{"jsonrpc": "1.0", "id": 4, "method": "ping"}', 4, -32600),
        ('{"jsonrpc": "2.0", "id": 5}', 5, -32600),
    ],
)
def test_a_request_with_an_id_is_answered_with_that_id(line: str, id_: object, code: int) -> None:
    answer = triage(refusal(line))
    assert isinstance(answer, types.JSONRPCError)
    assert (answer.id, answer.error.code) == (id_, code)


@pytest.mark.parametrize(
    "line",
    [
        '{"jsonrpc": "2.0", "method": "notifications/x", "params": [1]}',  # a notification
        '{"jsonrpc": "2.0", "id": 6, "result": ' + DEEP + "}",  # a response: never answered
        '{"jsonrpc": "2.0", "id": 1.5, "method": "ping", "params": [1]}',  # no usable id
        "not json at all",
    ],
)
def test_lines_without_a_request_to_answer_get_nothing(line: str) -> None:
    assert triage(refusal(line)) is None


def test_lone_surrogates_are_repaired_and_the_request_served() -> None:
    line = '{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "chat", "arguments": {"prompt": "hi \\ud83d"}}}'
    served = triage(refusal(line))
    assert isinstance(served, SessionMessage) and isinstance(served.message, types.JSONRPCRequest)
    assert served.message.params == {"name": "chat", "arguments": {"prompt": "hi \ufffd"}}
