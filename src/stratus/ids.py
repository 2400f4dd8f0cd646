"""Unpredictable ids for the hot path: request ids (UUID version 4 text) and random hex.

Each `uuid.uuid4()` or `os.urandom()` call is a getrandom system call; at thousands of
invocations a second, two of them per call were a visible share of the event loop's
time. The same kernel randomness is read here 4 KB at a time and handed out in slices.
A forked child starts with an empty buffer, so parent and child never share ids.
"""

from __future__ import annotations

import os
import threading

_BUFFER_BYTES = 4096
#: The variant nibble of a version 4 UUID (binary 10xx) from any random hex digit.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


class _RandomHex:
    """Bytes from os.urandom as hex, read in blocks, each digit handed out once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._text = ""
        self._used = 0

    def take(self, digits: int) -> str:
        with self._lock:
            start = self._used
            if start + digits > len(self._text):
                self._text = os.urandom(max(_BUFFER_BYTES, digits)).hex()
                start = 0
            self._used = start + digits
            return self._text[start : start + digits]

    def forget(self) -> None:
        self._text = ""
        self._used = 0


_random = _RandomHex()
os.register_at_fork(after_in_child=_random.forget)


def random_hex(count: int) -> str:
    """`count` random bytes as hex."""
    return _random.take(2 * count)


def request_id() -> str:
    """A random UUID (version 4) in its usual text form, as `str(uuid.uuid4())`."""
    h = _random.take(32)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"
