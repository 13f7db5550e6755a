"""A ``/ws`` connection's protocol state, driven without a socket or a clock."""

from __future__ import annotations

from ticket_daemon.protocol.connection import ClientIdentity, CloseRequest, ConnectionState, Phase, client_id_of
from ticket_daemon.protocol.flood import MessageBudget, Verdict


def state(client_id: str | None = "till-1", *, token: str = "", presented: object = None) -> ConnectionState:
    budget = MessageBudget(1.0, 2, now=0.0)
    return ConnectionState(
        ClientIdentity("127.0.0.7", client_id), budget, expected_token=token, presented_token=presented
    )


def test_a_close_is_decided_once_and_the_first_decision_stands() -> None:
    connection = state()
    assert connection.close(1008, "Too many messages", flush=False)
    assert not connection.close(1001, "server shutting down", flush=True)
    assert (connection.phase, connection.is_open) == (Phase.CLOSING, False)
    assert connection.close_request == CloseRequest(1008, "Too many messages", False)
    connection.closed()
    assert connection.phase is Phase.CLOSED


def test_with_a_token_configured_results_follow_a_client_id_only_once_it_is_proved() -> None:
    connection = state(token="s3cret")
    assert not connection.may_attach(None) and not connection.token_proven
    assert connection.may_attach("s3cret")
    connection.attached = True
    assert not connection.may_attach("s3cret")  # once
    assert connection.prove("s3cret") and connection.prove(None)  # proved once is proved for the connection
    assert not state(None, token="s3cret").may_attach("s3cret")  # no client_id: nothing to attach
    assert state(token="s3cret", presented="s3cret").token_proven  # ?auth_token= on connect


def test_the_message_budget_refuses_tells_once_then_closes() -> None:
    connection = state()
    verdicts = [connection.admit(0.0) for _ in range(6)]
    assert verdicts == [Verdict.ADMIT, Verdict.ADMIT, Verdict.REFUSE_AND_TELL, Verdict.REFUSE_QUIETLY,
                        Verdict.CLOSE, Verdict.CLOSE]  # fmt: skip


def test_a_client_id_keeps_safe_characters_only() -> None:
    assert client_id_of(" caja 1/norte ") == "caja_1_norte"
    assert client_id_of("") is None and client_id_of(None) is None
    assert ClientIdentity("10.0.0.5").owner == "addr/10.0.0.5"
    assert ClientIdentity("10.0.0.5", "till").client_key == "till@10.0.0.5"
