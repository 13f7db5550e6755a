"""docs/architecture.md stays true: imports only point down its floors, the pure core imports no I/O, and one
ticket's path names functions that exist, in at most 18 hops."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import ticket_daemon

PACKAGE = Path(ticket_daemon.__file__).parent
MAP = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
MAX_HOPS = 18
PURE_CORE = ("document/", "escpos/", "emulator/", "protocol/")
# What "no I/O" means for the pure core: no event loop, threads, processes, sockets, files, OS paths or clocks.
IO_MODULES = {
    "asyncio", "socket", "selectors", "ssl", "threading", "_thread", "multiprocessing", "concurrent", "subprocess",
    "signal", "os", "pathlib", "shutil", "tempfile", "time", "sqlite3", "logging", "importlib",
    "starlette", "uvicorn", "paho", "websockets", "serial", "usb", "win32print",
}  # fmt: skip
# The printer database ships inside the package: escpos reads it with importlib.resources, never from an OS path.
IO_EXCEPTIONS = {("escpos/printerdb.py", "importlib")}
REFERENCE = re.compile(r"`([a-z_/]+\.py): ([A-Za-z_][\w.]*)`")


def _unit(path: Path) -> str:
    """The map's name for what holds ``path``: ``spool/`` for a package, ``config.py`` for a top-level module."""
    relative = path.relative_to(PACKAGE)
    return f"{relative.parts[0]}/" if len(relative.parts) > 1 else relative.name


def _imports(path: Path) -> list[str]:
    """Absolute names of every module ``path`` imports, at any depth (lazy imports inside functions too)."""
    package = path.relative_to(PACKAGE).parent.parts
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.append(node.module or "")
                continue
            base = ("ticket_daemon", *package[: len(package) - node.level + 1])
            if node.module:
                names.append(".".join((*base, node.module)))
            else:  # from .. import name: a module of that package, or a name of its __init__
                names.extend(".".join((*base, alias.name)) for alias in node.names)
    return names


def _target(name: str) -> str | None:
    """The unit a ``ticket_daemon`` import lands in (None for other libraries)."""
    parts = name.split(".")
    if parts[0] != "ticket_daemon":
        return None
    if len(parts) > 1 and (PACKAGE / parts[1]).is_dir():
        return f"{parts[1]}/"
    if len(parts) > 1 and (PACKAGE / f"{parts[1]}.py").exists():
        return f"{parts[1]}.py"
    return "__init__.py"  # a name of the root package (its __version__)


def _floors() -> tuple[dict[str, int], dict[str, set[str]]]:
    """The map's packages table: each unit's floor and what it may import."""
    floors: dict[str, int] = {}
    allowed: dict[str, set[str]] = {}
    for line in MAP.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 4 or not cells[0].isdigit():
            continue
        units = re.findall(r"`([^`]+)`", cells[1])
        may = set(re.findall(r"`([^`]+)`", cells[3]))
        for unit in units:
            floors[unit] = int(cells[0])
            allowed[unit] = may
    return floors, allowed


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_the_map_places_every_package_on_one_floor() -> None:
    floors, _ = _floors()
    units = {_unit(path) for path in _sources()}
    assert sorted(units - set(floors)) == []  # every package and top-level module is on the map
    assert sorted(set(floors) - units) == []  # and nothing the map names is gone


def test_imports_only_point_to_lower_floors_as_the_map_says() -> None:
    floors, allowed = _floors()
    wrong: list[str] = []
    for path in _sources():
        unit = _unit(path)
        for name in _imports(path):
            target = _target(name)
            if target is None or target == unit:
                continue
            where = f"{path.relative_to(PACKAGE)} imports {name}"
            if floors.get(target, 99) >= floors[unit]:
                wrong.append(f"{where}: {target} is on floor {floors.get(target)}, not below {floors[unit]}")
            elif target not in allowed[unit]:
                wrong.append(f"{where}: the map does not list {target} for {unit}")
    assert wrong == []


def test_the_pure_core_imports_no_io_module() -> None:
    # Moved from the protocol package's own check, widened to the whole core: document, escpos, emulator, protocol.
    found: list[str] = []
    for path in _sources():
        relative = path.relative_to(PACKAGE).as_posix()
        if not relative.startswith(PURE_CORE):
            continue
        for name in _imports(path):
            root = name.split(".")[0]
            if root in IO_MODULES and (relative, root) not in IO_EXCEPTIONS:
                found.append(f"{relative} imports {name}")
    assert found == []


def _path_section() -> str:
    text = MAP.read_text(encoding="utf-8")
    start = text.index("## One ticket's path")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def test_one_tickets_path_takes_at_most_18_hops_and_the_map_counts_them() -> None:
    section = _path_section()
    hops = [int(number) for number in re.findall(r"^(\d+)\. ", section, flags=re.MULTILINE)]
    assert hops == list(range(1, len(hops) + 1))
    assert len(hops) <= MAX_HOPS
    assert f"**{len(hops)} hops**" in section
    assert all(REFERENCE.search(line) for line in section.splitlines() if re.match(r"^\d+\. ", line))


def test_every_function_the_map_names_exists() -> None:
    text = MAP.read_text(encoding="utf-8")
    # A name split over two lines, or written another way, would escape the check below.
    assert [name for name in re.findall(r"`([^`]*\.py:[^`]*)`", text) if not REFERENCE.fullmatch(f"`{name}`")] == []
    references = REFERENCE.findall(text)
    assert len(references) > 20
    missing: list[str] = []
    for path, qualname in references:
        module = importlib.import_module("ticket_daemon." + path.removesuffix(".py").replace("/", "."))
        target: object = module
        for part in qualname.split("."):
            target = getattr(target, part, None)
            if target is None:
                missing.append(f"{path}: {qualname}")
                break
    assert missing == []


def _headings(doc: Path) -> set[str]:
    return {
        line.lstrip("#").strip().replace("`", "")
        for line in doc.read_text(encoding="utf-8").splitlines()
        if line.startswith("#")
    }


def test_the_code_cites_the_projects_own_docs_by_sections_they_have() -> None:
    docs = MAP.parent
    sections = {name: _headings(docs / name) for name in ("protocol.md", "document.md")}
    wrong: list[str] = []
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in (".py", ".js") or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(PACKAGE)
        wrong += [f"{where} cites {name}" for name in re.findall(r"\b(?:PROTOCOL|DOCUMENT|DESIGN|STYLE)\.md", text)]
        # A citation may wrap: the comment markers of the next line are not part of the section's name.
        flat = re.sub(r"\n\s*(?:#|//|\*)?\s*", " ", text)
        for doc, section in re.findall(r'docs/(protocol\.md|document\.md) "([^"]+)"', flat):
            if section not in sections[doc]:
                wrong.append(f'{where} cites docs/{doc} "{section}", a section it does not have')
    assert wrong == []
