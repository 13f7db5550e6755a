"""Dashboard password hashing (argon2id) and the ``ticket-daemon hash-password`` command.

Only the hash is ever configured (`server.dashboard_password_hash`); the password itself is never stored or logged.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Upper bound on what we hash: argon2 accepts any length, but a megabyte "password" is only a way to burn CPU.
MAX_PASSWORD_CHARS = 1024


def hash_password(password: str) -> str:
    """An argon2id hash (``$argon2id$…``) with argon2-cffi's recommended parameters and a random salt."""
    return PasswordHasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for a mismatch or a malformed hash, never raises."""
    if not password_hash or len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        return PasswordHasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def is_password_hash(value: str) -> bool:
    """Whether ``value`` looks like a hash this module can verify (used to warn about a misconfigured hash)."""
    return value.startswith("$argon2")


def hash_password_main(args: argparse.Namespace) -> int:
    """``ticket-daemon hash-password [--password-stdin]``: print the hash to put in the configuration."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Dashboard password: ")
        if getpass.getpass("Repeat password: ") != password:
            print("VALIDATION: The two passwords do not match", file=sys.stderr)
            return 2
    if not password:
        print("VALIDATION: The password must not be empty", file=sys.stderr)
        return 2
    if len(password) > MAX_PASSWORD_CHARS:
        print(f"VALIDATION: The password must be at most {MAX_PASSWORD_CHARS} characters", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0
