"""API Gateway: REST APIs (`apigateway`) and HTTP APIs (`apigatewayv2`), their control
planes as wire services and the data plane serving their invoke URLs."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine

from stratus.gateway.authorizers import Authorizers
from stratus.gateway.http_apis import HttpApis
from stratus.gateway.http_authorizers import HttpAuthorizers
from stratus.gateway.http_openapi import HttpDefinitions
from stratus.gateway.http_stages import HttpStages
from stratus.gateway.iam_auth import IamAuthorizer
from stratus.gateway.integrations import Backends
from stratus.gateway.records import GatewayStore
from stratus.gateway.rest_apis import RestApis
from stratus.gateway.rest_openapi import RestDefinitions
from stratus.gateway.rest_stages import REST_STAGE, RestStages
from stratus.gateway.service import GatewayService
from stratus.gateway.serving import GatewayApp, Registry
from stratus.gateway.stage_cache import StageCaches
from stratus.gateway.urls import stage_urls
from stratus.gateway.usage_meter import Meter
from stratus.gateway.usage_plans import UsagePlans
from stratus.gateway.workflows import Workflows
from stratus.invoke.invoker import Invoker
from stratus.observe.logs import LogStore
from stratus.wire.types import CredentialStore

__all__ = ["Gateway", "GatewayApp", "Workflows", "stage_urls"]


class Gateway:
    """Both control planes and the data plane, sharing one store and registry."""

    def __init__(
        self,
        engine: Engine,
        invoker: Invoker,
        account_id: str,
        endpoint_url: Callable[[], str],
        workflows: Workflows | None = None,
        logs: LogStore | None = None,
        credentials: CredentialStore | None = None,
    ) -> None:
        """`credentials` are the keys `AWS_IAM` methods and routes accept; without
        them, those refuse every caller."""
        store = GatewayStore(engine)
        self.registry = Registry(store)
        http_apis = HttpApis(store, endpoint_url, self._http_api_changed)
        self.http_stages = HttpStages(store, http_apis, self.registry.invalidate)
        rest_apis = RestApis(store, self.registry.invalidate)
        caches = StageCaches()
        rest_stages = RestStages(store, rest_apis, self.registry.invalidate, caches)
        self.meter = Meter(store)
        plans = UsagePlans(
            store,
            lambda api_id, stage: store.get(REST_STAGE, api_id, stage) is not None,
            self.meter.invalidate,
        )
        #: The wire services, for `WireApp`.
        self.v2 = GatewayService(
            "apigatewayv2",
            http_apis,
            self.http_stages,
            HttpAuthorizers(store, http_apis),
            HttpDefinitions(http_apis, endpoint_url),
        )
        self.v1 = GatewayService(
            "apigateway",
            rest_apis,
            rest_stages,
            plans,
            Authorizers(store, rest_apis.api),
            RestDefinitions(rest_apis, rest_stages, endpoint_url),
        )
        self.backends = Backends(invoker, workflows)
        #: The ASGI app serving invoke URLs.
        self.app = GatewayApp(
            self.registry,
            self.backends,
            account_id,
            self.meter,
            logs,
            caches,
            IamAuthorizer(credentials, invoker.region),
        )

    def _http_api_changed(self, api_id: str) -> None:
        self.http_stages.api_changed(api_id)

    async def close(self) -> None:
        await self.backends.close()
