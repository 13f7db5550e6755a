"""uvicorn's sans-I/O WebSocket protocol with the two client faults it mishandles answered in the protocol's terms.

- A text frame that is not UTF-8 (RFC 6455 §8.1: the endpoint fails the connection, close code 1007). uvicorn logs
  an ERROR with a traceback for each one, so a loop of such frames floods the log. Here the client is told why, as
  every door says it (an ``error`` ``JSON: the message is not UTF-8 text …``), then the connection is closed with
  1007 and the same reason; no traceback, and one WARNING line per address per interval (``logs.client_fault``).
- A send after the close frame (the client closed, or was closed, while replies were queued). uvicorn raises a
  ``RuntimeError`` for it; here it is what it is, a client that is gone (``ClientDisconnected``), so no reply is
  written after the close and nothing is logged as a fault.
"""

from __future__ import annotations

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

from ..logs import client_fault
from ..protocol import messages, requests

CLOSE_INVALID_DATA = 1007  # RFC 6455 §7.4.1: data inconsistent with the message type (non-UTF-8 text)
NOT_UTF8_FAULT = "JSON: a text frame was not valid UTF-8; the connection was closed (1007)"
MAX_CLOSE_REASON_BYTES = 123  # RFC 6455 §5.5: a control frame's payload is at most 125 bytes, 2 of them the code


class WebSocketProtocol(WebSocketsSansIOProtocol):
    def send_receive_event_to_app(self) -> None:
        if self.curr_msg_data_type == "text" and not self.close_sent:
            data = b"".join(self.frames)
            try:
                data.decode()
            except UnicodeDecodeError:
                self.frames = []
                self._refuse_text(data)
                return
        super().send_receive_event_to_app()

    def _refuse_text(self, data: bytes) -> None:
        refusal = requests.read(data)  # the one reader says what is wrong, as it does for the other doors
        assert isinstance(refusal, requests.Refusal)
        client_fault(_address(self.client), NOT_UTF8_FAULT)  # once per address per interval: a loop cannot flood
        self.conn.send_text(messages.encode(refusal.reply()).encode())
        reason = refusal.mensaje.encode()[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")
        self.conn.send_close(CLOSE_INVALID_DATA, reason)
        self.handle_parser_exception()  # tells the app the client is gone, writes both frames, closes the socket

    async def send(self, message: ASGISendEvent) -> None:
        await self.writable.wait()
        if self.close_sent and self.handshake_complete and message["type"] == "websocket.send":
            raise ClientDisconnected()
        await super().send(message)


def _address(client: tuple[str, int] | None) -> str:
    return client[0] if client else "unknown"
