"""Typed requests, without a socket: each message the original accepts (and our extensions) becomes its request;
anything else becomes a refusal that names the id when it was readable."""

from __future__ import annotations

import pytest

from ticket_daemon.protocol.requests import (
    GetPrinters,
    JobStatus,
    Ping,
    Preview,
    Refusal,
    Status,
    Ticket,
    read,
    read_ticket,
)


@pytest.mark.parametrize(
    ("frame", "request_"),
    [
        ('{"tipo":"ticket","id":"t-1","datos":{},"auth_token":"k","printer":"bar"}',
         Ticket("t-1", raw_id="t-1", datos={}, auth_token="k", printer="bar")),
        ('{"tipo":"status"}', Status()),
        ('{"tipo":"ping","id":1736956800000}', Ping(1736956800000)),
        ('{"tipo":"ping","id":true}', Ping(None)),
        ('{"tipo":"get_printers"}', GetPrinters()),
        ('{"tipo":"preview","id":"p","datos":{}}', Preview("p", datos={}, auth_token=None)),
        ('{"tipo":"job_status","id":"t-1"}', JobStatus("t-1", auth_token=None)),
    ],
)  # fmt: skip
def test_each_message_type_becomes_its_request(frame: str, request_: object) -> None:
    assert read(frame) == request_


@pytest.mark.parametrize(
    ("frame", "refusal"),
    [
        ('{"tipo":"fax","id":"f-1"}', Refusal("Unknown message type:  fax", "f-1")),
        ('{"tipo":"info"}', Refusal("Unknown message type:  info")),
        ('{"id":"no-tipo"}', Refusal("JSON: field 'tipo' is required and must be a string", "no-tipo")),
        ('{"tipo":"ticket","id":"x","printer":"\\udc00"}',
         Refusal("VALIDATION: field 'printer' is not valid text (lone UTF-16 surrogate)", "x")),
        ("[]", Refusal("JSON: a message must be a JSON object, got a list")),
    ],
)  # fmt: skip
def test_what_is_not_a_request_is_refused_with_the_id_when_readable(frame: str, refusal: Refusal) -> None:
    assert read(frame) == refusal


def test_doors_that_take_only_tickets_refuse_every_other_type() -> None:
    assert read_ticket(b'{"tipo":"status","id":"s"}') == Refusal("Unknown message type:  status", "s")
    assert read_ticket(b'{"tipo":"status","id":"s"}', tipo_optional=True) == Refusal(
        "VALIDATION: field 'tipo' must be 'ticket' (or left out) on /api/v1/jobs", "s"
    )
    assert read_ticket(b'{"id":"h","datos":{}}', tipo_optional=True) == Ticket(
        "h", raw_id="h", datos={}, auth_token=None, printer=None
    )
