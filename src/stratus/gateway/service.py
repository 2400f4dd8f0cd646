"""One wire service made of the operation groups of an API Gateway control plane."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stratus.errors import ValidationException
from stratus.gateway.errors import BadRequestException
from stratus.wire.types import OperationHandler

#: API Gateway's request size limit (OpenAPI imports are the large ones).
MAX_REQUEST_BYTES = 10 * 1024 * 1024


class GatewayService:
    """Every operation of `model_name` ("apigateway" or "apigatewayv2") that Stratus
    implements, gathered from the groups that implement them."""

    def __init__(self, model_name: str, *groups: Any) -> None:
        self.model_name = model_name
        self._operations: dict[str, OperationHandler] = {}
        for group in groups:
            self._operations.update(group.operations())

    def operations(self) -> Mapping[str, OperationHandler]:
        return self._operations

    def max_request_bytes(self, operation: str) -> int:
        return MAX_REQUEST_BYTES

    def request_too_large(self, operation: str, limit: int) -> Exception:
        return BadRequestException(f"Request body is larger than {limit} bytes")

    def invalid_request(self, message: str) -> Exception:
        return ValidationException(message)
