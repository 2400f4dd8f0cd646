"""The engine's end of the control channel to an instance.

Framing (the instance's end is ``stratus/runtimes/python/bootstrap.py``; keep the two in
step): ``struct "<II"`` (meta length, body length), the meta as compact JSON, the body
as raw bytes. The engine sends one event frame and reads one reply frame; the reply's
length header lets an oversized body be skipped as it streams in, so the engine never
buffers more than `max_body` bytes of it and the instance stays usable.
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Callable
from typing import Any, cast

HEADER = struct.Struct("<II")
#: Largest meta document an instance may send; more is a protocol violation.
MAX_META_BYTES = 64 * 1024

# Built once: json.dumps() with options constructs a new encoder on every call.
_encode_any_meta = json.JSONEncoder(separators=(",", ":")).encode
_encode_string: Callable[[str], str] = json.encoder.encode_basestring_ascii


def _encode_meta(meta: dict[str, Any]) -> str:
    """Compact JSON of a meta document. An event's header is flat (strings and
    integers), and joining C-encoded strings costs a fraction of JSONEncoder.encode,
    which builds a new C encoder per call."""
    parts = []
    for key, value in meta.items():
        if isinstance(value, str):
            parts.append(f"{_encode_string(key)}:{_encode_string(value)}")
        elif type(value) is int:
            parts.append(f"{_encode_string(key)}:{value}")
        else:
            return _encode_any_meta(meta)
    return "{" + ",".join(parts) + "}"


#: Receives (meta, body, skipped): `skipped` > 0 means a body of that many bytes was
#: longer than allowed and was discarded (`body` is then empty).
FrameHandler = Callable[[dict[str, Any], bytes, int], None]


def _decode_meta(data: bytes | bytearray) -> dict[str, Any]:
    # Decoding first skips json.loads's encoding sniffing, a measurable share of a
    # warm round trip.
    meta = json.loads(data.decode())
    if not isinstance(meta, dict):
        raise ValueError("frame meta is not an object")
    return meta


class ControlProtocol(asyncio.Protocol):
    """Parses reply frames as bytes arrive and hands each to `on_frame`."""

    def __init__(
        self,
        on_frame: FrameHandler,
        on_closed: Callable[[str], None],
        max_body: int,
    ) -> None:
        self._on_frame = on_frame
        self._on_closed = on_closed
        self._max_body = max_body
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        # While skipping an oversized body: its meta, its size, and bytes left to drop.
        self._skip_meta: dict[str, Any] | None = None
        self._skip_size = 0
        self._skip_left = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._on_closed("control channel closed")

    def send(self, meta: dict[str, Any], body: bytes) -> None:
        """Queue one frame to the instance (written at once when the socket allows)."""
        if self._transport is None or self._transport.is_closing():
            return  # the instance is gone; the exit watcher reports how
        meta_bytes = _encode_meta(meta).encode()
        header = HEADER.pack(len(meta_bytes), len(body)) + meta_bytes
        if len(body) < 65536:
            self._transport.write(header + body)
        else:
            self._transport.writelines((header, body))

    @property
    def is_open(self) -> bool:
        """Connected, and neither end has closed the channel yet."""
        return self._transport is not None and not self._transport.is_closing()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        if self._skip_left:
            data = self._skip(data)
            if not data:
                return
        # Fast path: a whole frame in one read, nothing buffered before it.
        if not self._buffer and len(data) >= HEADER.size:
            meta_len, body_len = HEADER.unpack_from(data)
            meta_end = HEADER.size + meta_len
            if (
                len(data) == meta_end + body_len
                and meta_len <= MAX_META_BYTES
                and body_len <= self._max_body
            ):
                try:
                    meta = _decode_meta(data[HEADER.size : meta_end])
                except ValueError:
                    self._violation()
                    return
                self._on_frame(meta, data[meta_end:], 0)
                return
        self._buffer += data
        self._parse()

    def _skip(self, data: bytes) -> bytes:
        dropped = min(self._skip_left, len(data))
        self._skip_left -= dropped
        if not self._skip_left:
            meta, self._skip_meta = self._skip_meta or {}, None
            self._on_frame(meta, b"", self._skip_size)
        return data[dropped:]

    def _parse(self) -> None:
        try:
            self._parse_frames()
        except ValueError:
            self._violation()

    def _parse_frames(self) -> None:
        buffer = self._buffer
        while len(buffer) >= HEADER.size:
            meta_len, body_len = HEADER.unpack_from(buffer)
            if meta_len > MAX_META_BYTES:
                self._violation()
                return
            meta_end = HEADER.size + meta_len
            if body_len > self._max_body:
                if len(buffer) < meta_end:
                    return
                self._skip_meta = _decode_meta(buffer[HEADER.size : meta_end])
                self._skip_size = self._skip_left = body_len
                rest = bytes(buffer[meta_end:])
                buffer.clear()
                rest = self._skip(rest)
                if rest:
                    buffer += rest
                    continue
                return
            end = meta_end + body_len
            if len(buffer) < end:
                return
            meta = _decode_meta(buffer[HEADER.size : meta_end])
            body = bytes(buffer[meta_end:end])
            del buffer[:end]
            self._on_frame(meta, body, 0)

    def _violation(self) -> None:
        self._buffer.clear()
        if self._transport is not None:
            self._transport.abort()
        self._on_closed("protocol violation")
