"""The protocol core loads no I/O, the doors leave JSON to it, and the print service is held, never extended."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import ticket_daemon

PACKAGE = Path(ticket_daemon.__file__).parent
IO_PACKAGES = ("asyncio", "socket", "threading", "starlette", "uvicorn", "paho", "sqlite3", "selectors", "ssl")
JSON_PARSERS = {("json", "loads"), ("json", "load"), ("orjson", "loads"), ("ujson", "loads")}


def test_loading_the_protocol_package_loads_no_io_package() -> None:
    # Its own imports are read from the source with the rest of the pure core (tests/test_layers.py). Here: what
    # loading it adds, in a fresh interpreter, beyond its allowed dependencies (pydantic itself loads threading and
    # socket, which the protocol never uses).
    probe = (
        "import json, sys\n"
        "import orjson, pydantic, ticket_daemon.document.parse\n"
        "before = set(sys.modules)\n"
        "import ticket_daemon.protocol.connection, ticket_daemon.protocol.flood, ticket_daemon.protocol.jsontext\n"
        "import ticket_daemon.protocol.messages, ticket_daemon.protocol.requests, ticket_daemon.protocol.tokens\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    loaded = json.loads(subprocess.run([sys.executable, "-c", probe], capture_output=True, check=True).stdout)
    assert "ticket_daemon.protocol.requests" in loaded
    assert sorted(name for name in loaded if name.split(".")[0] in IO_PACKAGES) == []
    floors = {name.split(".")[1] for name in loaded if name.startswith("ticket_daemon.")}
    assert floors <= {"protocol", "document"}  # nothing above it: no store, spool, server or mqtt


def test_no_module_under_server_or_mqtt_parses_json_itself() -> None:
    parsing: list[str] = []
    for folder in ("server", "mqtt"):
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and (node.value.id, node.attr) in JSON_PARSERS
                ):
                    parsing.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.value.id}.{node.attr}")
                if isinstance(node, ast.ImportFrom) and node.module in ("json", "orjson", "ujson"):
                    names = {alias.name for alias in node.names}
                    if names & {"loads", "load", "JSONDecoder"}:
                        parsing.append(f"{path.relative_to(PACKAGE)}:{node.lineno} from {node.module} import …")
    assert parsing == []


def _base_name(base: ast.expr) -> str:
    if isinstance(base, ast.Name):
        return base.id
    return base.attr if isinstance(base, ast.Attribute) else ""


def test_no_class_extends_the_print_service() -> None:
    repository = Path(__file__).resolve().parents[2]
    sources = [PACKAGE, repository / "tests", repository / "benchmarks"]
    extending: list[str] = []
    for path in sorted(path for folder in sources for path in folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(_base_name(base) == "PrintSpool" for base in node.bases):
                extending.append(f"{path}: class {node.name}")
    assert extending == []
