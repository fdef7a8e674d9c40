"""Known secret values, and their removal from anything the tool prints or saves.

The sources never print a credential on purpose; this is the second line of
defence for values that could reach output indirectly (an AWS error message
quoting a request, a task definition that embeds a registry password).
"""

from __future__ import annotations

import base64
import threading

MASK = "(sensitive)"
_MIN_LENGTH = 4  # shorter values would mask ordinary words


class Redactor:
    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str | None, *, username: str | None = None) -> None:
        """Remember a secret, with its base64 forms (dockercfg `auth`, HTTP Basic)."""
        if not value or len(value) < _MIN_LENGTH:
            return
        forms = {value, base64.b64encode(value.encode()).decode()}
        if username:
            forms.add(base64.b64encode(f"{username}:{value}".encode()).decode())
        with self._lock:
            self._values |= forms

    def __call__(self, text: str) -> str:
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        return text


# One per process: every output path goes through it.
redact = Redactor()
