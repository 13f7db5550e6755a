"""The OpenAPI 3.1 document of the HTTP endpoints, served at ``GET /api/v1/openapi.json`` (docs/protocol.md
"HTTP": the HTTP mirror is documented with OpenAPI). Hand-written, so it says what clients may rely on;
``tests/server/test_jobs_api.py`` checks every HTTP route of the app is in it."""

from __future__ import annotations

from typing import Any

from .. import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _json(_ref("Error"), "`{status: error, mensaje: 'CATEGORY: sentence'}`")
_JOB_ID = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}
_CLIENT_ID = {"name": "client_id", "in": "query", "schema": {"type": "string", "maxLength": 64}}
# Ids are scoped per client: an operator, who sees every client's jobs, names one job exactly.
_WHICH_JOB = [
    _JOB_ID,
    {"name": "seq", "in": "query", "schema": {"type": "integer"}, "description": "the job's seq (GET /api/v1/jobs)"},
    {"name": "owner", "in": "query", "schema": {"type": "string"}, "description": "the job's client_id"},
]
_AMBIGUOUS = " Without seq or owner the id must name one client's job among the recent ones (409 otherwise)."
_OPERATOR = "Dashboard operator action: needs the dashboard session when a password is set, and a same-origin POST."
_TOKEN = " When server.auth_token is set, needs `Authorization: Bearer <token>` (401 otherwise)."

_SCHEMAS: dict[str, Any] = {
    "Origins": {
        "type": "object",
        "properties": {
            "allowed": {"type": "array", "items": {"type": "string"}},
            "blocked": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "origin": {"type": "string"},
                        "attempts": {"type": "integer"},
                        "last_seen": {"type": "string", "format": "date-time"},
                    },
                },
            },
        },
    },
    "OriginRequest": {"type": "object", "required": ["origin"], "properties": {"origin": {"type": "string"}}},
    "Error": {
        "type": "object",
        "required": ["tipo", "status", "mensaje"],
        "properties": {
            "tipo": {"const": "error"},
            "status": {"const": "error"},
            "id": {"type": "string"},
            "mensaje": {"type": "string", "description": "`CATEGORY: sentence`, or an exact text of docs/protocol.md"},
        },
    },
    "Ticket": {
        "type": "object",
        "required": ["datos"],
        "properties": {
            "tipo": {"const": "ticket"},
            "id": {"type": "string", "maxLength": 64, "description": "idempotency key; a UUID is made when absent"},
            "datos": {"type": "object", "description": "the print document (docs/document.md)"},
            "auth_token": {"type": "string"},
            "printer": {"type": "string", "description": "name of a configured printer"},
        },
    },
    "Result": {
        "type": "object",
        "properties": {
            "tipo": {"const": "result"},
            "id": {"type": "string"},
            "status": {"enum": ["success", "error"]},
            "mensaje": {"type": "string"},
        },
    },
    "Ack": {
        "type": "object",
        "required": ["tipo", "id", "status", "current", "capacity", "mensaje"],
        "properties": {
            "tipo": {"const": "ack"},
            "id": {"type": "string"},
            "status": {"enum": ["queued", "duplicate"]},
            "job_status": {"type": "string", "description": "duplicate only: the accepted job's state"},
            "current": {"type": "integer"},
            "capacity": {"type": "integer"},
            "mensaje": {"type": "string"},
            "result": _ref("Result"),
        },
    },
    "Job": {
        "type": "object",
        "properties": {
            "tipo": {"const": "job"},
            "id": {"type": "string"},
            "status": {"enum": ["queued", "printing", "waiting", "success", "error", "expired", "cancelled"]},
            "printer": {"type": "string"},
            "mensaje": {"type": "string"},
            "attempts": {"type": "integer"},
            "created_at": {"type": "number", "description": "Unix time"},
            "updated_at": {"type": "number", "description": "Unix time"},
        },
    },
    "JobList": {
        "type": "object",
        "properties": {"status": {"const": "ok"}, "jobs": {"type": "array", "items": _ref("Job")}},
    },
    "Printers": {
        "type": "object",
        "properties": {
            "status": {"const": "ok"},
            "printers": {"type": "array", "items": {"type": "object"}},
            "summary": {"type": "object"},
        },
    },
    "Health": {
        "type": "object",
        "description": "docs/protocol.md `GET /health`, plus `spool: {size, pending, oldest_waiting_seconds}`",
        "properties": {
            "status": {"enum": ["ok", "degraded"]},
            "queue": {"type": "object"},
            "worker": {"type": "object"},
            "printers": {"type": "object"},
            "build": {"type": "object"},
            "uptime_seconds": {"type": "integer"},
            "spool": {"type": "object"},
        },
    },
}

_PATHS: dict[str, Any] = {
    "/health": {
        "get": {
            "summary": "Service health (public, CORS *)",
            "responses": {"200": _json(_ref("Health"), "health report")},
        }
    },
    "/metrics": {
        "get": {
            "summary": "Prometheus metrics (text format 0.0.4): jobs, queue, durations, spool, connections, broker",
            "responses": {"200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}},
        }
    },
    "/api/v1/printers": {
        "get": {
            "summary": "Configured printers and their state",
            "responses": {"200": _json(_ref("Printers"), "PrinterDetail list and PrinterSummary")},
        }
    },
    "/api/v1/preview": {
        "post": {
            "summary": "What a document would print, as PNG (body: a document or a ticket message)." + _TOKEN,
            "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {
                "200": {"description": "the receipt", "content": {"image/png": {}}},
                "400": _ERROR,
                "401": _ERROR,
                "403": _ERROR,
                "413": _ERROR,
            },
        }
    },
    "/api/v1/jobs": {
        "post": {
            "summary": "Submit a ticket (same checks as /ws); the ack is sent only once the job is on disk. The token "
            "goes in `auth_token` or as `Authorization: Bearer <token>`.",
            "parameters": [_CLIENT_ID],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Ticket")}}},
            "responses": {
                "202": _json(_ref("Ack"), "accepted (status queued)"),
                "200": _json(
                    _ref("Ack"),
                    "this client sent this id with the same document within [spool] duplicate_window_seconds "
                    "(status duplicate): not printed again. The same id with another document is a 400 VALIDATION "
                    "error.",
                ),
                "400": _ERROR,
                "401": _ERROR,
                "403": _ERROR,
                "413": _ERROR,
                "429": _ERROR,
                "503": _ERROR,
            },
        },
        "get": {
            "summary": "Recent jobs, newest first. " + _OPERATOR + _TOKEN,
            "parameters": [{"name": "limit", "in": "query", "schema": {"type": "integer", "default": 50}}],
            "responses": {"200": _json(_ref("JobList"), "recent jobs"), "401": _ERROR},
        },
    },
    "/api/v1/jobs/{job_id}": {
        "get": {
            "summary": "A job's state (like the job_status message), looked up among the asking client's own ids: "
            "its `client_id`, else its address." + _TOKEN,
            "parameters": [_JOB_ID, _CLIENT_ID],
            "responses": {"200": _json(_ref("Job"), "the job"), "401": _ERROR, "404": _ERROR, "503": _ERROR},
        }
    },
    "/api/v1/jobs/{job_id}/reprint": {
        "post": {
            "summary": "Print a stored job again, as a new job of the same client. " + _OPERATOR + _TOKEN + _AMBIGUOUS,
            "parameters": _WHICH_JOB,
            "responses": {
                "202": _json(_ref("Job"), "the new copy"),
                "401": _ERROR,
                "403": _ERROR,
                "404": _ERROR,
                "409": _ERROR,
            },
        }
    },
    "/api/v1/jobs/{job_id}/cancel": {
        "post": {
            "summary": "Cancel a queued or waiting job. " + _OPERATOR + _TOKEN + _AMBIGUOUS,
            "parameters": _WHICH_JOB,
            "responses": {
                "200": _json(_ref("Job"), "the cancelled job"),
                "401": _ERROR,
                "403": _ERROR,
                "404": _ERROR,
                "409": _ERROR,
            },
        }
    },
    "/api/v1/origins": {
        "get": {
            "summary": "Allowed origins and the origins refused so far. " + _OPERATOR,
            "responses": {"200": _json(_ref("Origins"), "allowed and blocked origins"), "401": _ERROR, "403": _ERROR},
        },
        "post": {
            "summary": "Allow an origin (kept in the data directory). " + _OPERATOR,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("OriginRequest")}}},
            "responses": {"200": _json(_ref("Origins"), "the new lists"), "400": _ERROR, "403": _ERROR},
        },
        "delete": {
            "summary": "Stop allowing an origin allowed at run time. " + _OPERATOR,
            "parameters": [{"name": "origin", "in": "query", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json(_ref("Origins"), "the new lists"), "400": _ERROR, "404": _ERROR},
        },
    },
    "/api/v1/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}},
    },
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "ticket-daemon HTTP API",
            "version": __version__,
            "description": "HTTP mirror of the WebSocket protocol (docs/protocol.md). The dashboard pages, /login, "
            "/auth/* and the virtual printer listings are the dashboard's own and not part of this API.",
        },
        "paths": _PATHS,
        "components": {"schemas": _SCHEMAS},
    }
