"""The USB and Windows tests run the transports against fakes of pyusb and pywin32; these tests keep the fakes honest.

Every library name the transports (and discovery) use must exist in the real library, and every fake function the
transports call must accept the same call as the real one, parameter by parameter (a fake that takes an argument
the real function does not, or names it differently, would let a wrong call pass the tests).

pyusb is pure Python and installed: its modules are inspected. pywin32 only installs on Windows, so its published
type stubs (``types-pywin32``, a dev dependency) are read with ``ast``: they are generated from pywin32's own
signatures and name every function and argument, and they load anywhere.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from printers.fake_pyusb import FakePrinterDevice, FakePyusb, FakeUsbBus, USBError, USBTimeoutError
from printers.fake_win32 import FakePywintypesError, FakeWin32Print, FakeWin32PrinterList
from ticket_daemon.printers import discovery, usb, win32

usb_core = pytest.importorskip("usb.core")
usb_util = pytest.importorskip("usb.util")


def used_names(module: Any, pattern: str) -> set[str]:
    """The names a product module reaches through ``pattern`` (a regex with one group), read from its source."""
    return set(re.findall(pattern, Path(module.__file__).read_text(encoding="utf-8")))


def assert_same_call(fake: Callable[..., Any], real: inspect.Signature | list[inspect.Signature], what: str) -> None:
    """A call that fills every parameter of ``fake`` (positionally where it allows, by keyword otherwise) binds to
    ``real`` (one of its overloads), and each positional argument lands on a parameter of the same name unless the
    real one is positional-only (then the name is not part of the interface)."""
    fake_parameters = list(inspect.signature(fake).parameters.values())
    args = [p.name for p in fake_parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    kwargs = {p.name: p.name for p in fake_parameters if p.kind is p.KEYWORD_ONLY}
    problems = []
    for signature in real if isinstance(real, list) else [real]:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            problems.append(f"{signature}: {error}")
            continue
        real_parameters = signature.parameters
        renamed = [
            (value, name)
            for name, value in bound.arguments.items()
            if value in args
            and value != name
            and real_parameters[name].kind is not inspect.Parameter.POSITIONAL_ONLY
            and real_parameters[name].kind is not inspect.Parameter.VAR_POSITIONAL
        ]
        if not renamed:
            return
        problems.append(f"{signature}: fake parameter names {renamed} differ from the real ones")
    raise AssertionError(f"{what}: the fake {inspect.signature(fake)} does not match pyusb/pywin32: {problems}")


# --- pyusb -----------------------------------------------------------------------------------------------------


def test_every_pyusb_name_the_code_uses_exists_in_pyusb() -> None:
    core = used_names(usb, r"api\.core\.(\w+)") | used_names(discovery, r"usb\.core\.(\w+)")
    util = used_names(usb, r"api\.util\.(\w+)")
    device_methods = used_names(usb, r"device\.(\w+)\(")
    assert core >= {"find", "USBError", "USBTimeoutError"} and util and device_methods  # the patterns still match
    assert sorted(name for name in core if not hasattr(usb_core, name)) == []
    assert sorted(name for name in util if not hasattr(usb_util, name)) == []
    assert sorted(name for name in device_methods if not hasattr(usb_core.Device, name)) == []


def test_the_fake_usb_device_takes_the_calls_a_real_device_takes() -> None:
    for name in sorted(used_names(usb, r"device\.(\w+)\(")):
        fake = getattr(FakePrinterDevice, name)
        real = inspect.signature(getattr(usb_core.Device, name))
        assert_same_call(fake, real, f"Device.{name}")


def test_the_fake_find_and_util_functions_take_the_calls_pyusb_takes() -> None:
    fake = FakePyusb()
    assert_same_call(fake.core.find, inspect.signature(usb_core.find), "usb.core.find")
    assert_same_call(FakeUsbBus([]).core.find, inspect.signature(usb_core.find), "usb.core.find (discovery)")
    for name in sorted(used_names(usb, r"api\.util\.(\w+)")):
        assert_same_call(getattr(fake.util, name), inspect.signature(getattr(usb_util, name)), f"usb.util.{name}")


def test_the_fake_usb_errors_are_built_and_related_like_pyusbs() -> None:
    assert_same_call(USBError.__init__, inspect.signature(usb_core.USBError.__init__), "USBError")
    assert issubclass(usb_core.USBTimeoutError, usb_core.USBError) and issubclass(USBTimeoutError, USBError)
    assert issubclass(usb_core.USBError, OSError) and issubclass(USBError, OSError)
    # The transport reads "no libusb" as the ValueError pyusb's NoBackendError is.
    assert issubclass(usb_core.NoBackendError, ValueError)
    real = usb_core.USBTimeoutError("Operation timed out", -7, 110)
    fake = USBTimeoutError("Operation timed out", -7, 110)
    assert (fake.errno, fake.strerror, fake.backend_error_code) == (real.errno, real.strerror, real.backend_error_code)


def test_the_descriptor_fields_the_code_reads_are_pyusbs() -> None:
    """pyusb sets descriptor fields from a list of names in each class (no device is needed to read the lists)."""
    core_source = inspect.getsource(usb_core)
    descriptor_field = r"\.((?:b|bm|id)[A-Z]\w+)"
    fields = used_names(usb, descriptor_field) | used_names(discovery, descriptor_field)
    assert {"bEndpointAddress", "bmAttributes", "bInterfaceClass", "idVendor"} <= fields  # the pattern still matches
    assert sorted(field for field in fields if f"'{field}'" not in core_source) == []
    assert hasattr(usb_core.Configuration, "__getitem__") and hasattr(usb_core.Interface, "__iter__")


# --- pywin32 ---------------------------------------------------------------------------------------------------


PYWIN32_STUBS = {
    "win32print": "win32-stubs/win32print.pyi",
    "pywintypes": "win32-stubs/lib/pywintypes.pyi",
    "_win32typing": "_win32typing-stubs/__init__.pyi",  # the structures pywin32 functions return
}


def win32_stub(module: str) -> ast.Module:
    """pywin32's stub for ``module`` from types-pywin32, parsed."""
    try:
        distribution = metadata.distribution("types-pywin32")
    except metadata.PackageNotFoundError:
        pytest.skip("types-pywin32 (dev dependency) is not installed: pywin32's signatures cannot be read here")
    path = Path(str(distribution.locate_file(PYWIN32_STUBS[module])))
    return ast.parse(path.read_text(encoding="utf-8"))


def annotated_names(node: ast.ClassDef) -> set[str]:
    return {
        item.target.id for item in node.body if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
    }


def stub_class(tree: ast.Module, name: str) -> ast.ClassDef:
    return next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == name)


def stub_signatures(tree: ast.Module | ast.ClassDef, name: str) -> list[inspect.Signature]:
    """Every overload of function ``name`` in a stub, as a signature (annotations left out: only the shape)."""
    signatures = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            arguments = node.args
            positional = [*arguments.posonlyargs, *arguments.args]
            first_default = len(positional) - len(arguments.defaults)
            parameters = [
                inspect.Parameter(
                    argument.arg,
                    inspect.Parameter.POSITIONAL_ONLY
                    if index < len(arguments.posonlyargs)
                    else inspect.Parameter.POSITIONAL_OR_KEYWORD,
                    default=None if index >= first_default else inspect.Parameter.empty,
                )
                for index, argument in enumerate(positional)
            ]
            if arguments.vararg:
                parameters.append(inspect.Parameter(arguments.vararg.arg, inspect.Parameter.VAR_POSITIONAL))
            parameters += [
                inspect.Parameter(
                    argument.arg,
                    inspect.Parameter.KEYWORD_ONLY,
                    default=inspect.Parameter.empty if default is None else None,
                )
                for argument, default in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True)
            ]
            if arguments.kwarg:
                parameters.append(inspect.Parameter(arguments.kwarg.arg, inspect.Parameter.VAR_KEYWORD))
            signatures.append(inspect.Signature(parameters))
    return signatures


def stub_names(tree: ast.Module) -> set[str]:
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_every_win32print_function_the_code_calls_exists_in_pywin32() -> None:
    calls = used_names(win32, r"api\.(\w+)\(") | used_names(discovery, r"api\.(\w+)\(")
    assert {"OpenPrinter", "WritePrinter", "EnumPrinters"} <= calls  # the patterns still match
    assert sorted(calls - {"error"} - stub_names(win32_stub("win32print"))) == []


def test_the_fake_win32print_takes_the_calls_pywin32_takes() -> None:
    stub = win32_stub("win32print")
    for name in sorted(used_names(win32, r"api\.(\w+)\(") - {"error"}):
        assert_same_call(getattr(FakeWin32Print(), name), stub_signatures(stub, name), f"win32print.{name}")


def test_the_fake_printer_list_takes_the_calls_pywin32_takes() -> None:
    stub = win32_stub("win32print")
    for name in sorted(used_names(discovery, r"api\.(\w+)\(")):
        assert_same_call(getattr(FakeWin32PrinterList(), name), stub_signatures(stub, name), f"win32print.{name}")


def test_the_fake_pywintypes_error_is_built_like_pywin32s() -> None:
    error_class = stub_class(win32_stub("pywintypes"), "error")
    assert_same_call(FakePywintypesError.__init__, stub_signatures(error_class, "__init__"), "pywintypes.error")
    attributes = annotated_names(error_class)
    assert {"winerror", "funcname", "strerror"} <= attributes  # what win32.spooler_error reads
    fake = FakePywintypesError(1801, "OpenPrinter", "The printer name is invalid.")
    assert sorted(attribute for attribute in attributes if not hasattr(fake, attribute)) == []


def test_the_printer_info_fields_discovery_reads_are_pywin32s() -> None:
    fields = annotated_names(stub_class(win32_stub("_win32typing"), "PrinterInfo2"))
    read = used_names(discovery, r"info\.get\(\"(\w+)\"\)")
    assert {"pPrinterName", "Status"} <= read  # the pattern still matches
    assert sorted(read - fields) == []
