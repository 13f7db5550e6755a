"""``ticket-daemon hash-password``: the hash of a dashboard password, to put in the configuration."""

from __future__ import annotations

import argparse
import getpass
import sys

from ..server.passwords import MAX_PASSWORD_CHARS, hash_password


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
