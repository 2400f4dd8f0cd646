"""The `apigatewayv2` control plane for stages and deployments, and the v2 wire service.

A deployment freezes the API's routes, integrations and CORS configuration into a
snapshot stored with it; a stage serves the snapshot of the deployment it points to, so
editing routes changes nothing a client sees until the next deployment. A stage with
`AutoDeploy` gets a new deployment after every change to the API. Switching a stage is
one row update, and the data plane swaps its compiled copy in one assignment.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from stratus.gateway.access_logs import check_settings
from stratus.gateway.errors import (
    BadRequestException,
    ConflictException,
    GatewayUnsupported,
    NotFoundException,
)
from stratus.gateway.http_apis import HttpApis
from stratus.gateway.http_records import (
    HTTP_API,
    HTTP_AUTHORIZER,
    INTEGRATION,
    ROUTE,
    _listing,
)
from stratus.gateway.records import GatewayStore, Record, new_id
from stratus.wire.types import OperationHandler, Params, RequestContext, Result

STAGE = "stage"
DEPLOYMENT = "deployment"
#: The member of a deployment record holding its frozen API (never sent to clients:
#: the wire encoder drops members the model does not define).
SNAPSHOT = "_snapshot"

_STAGE_UPDATABLE = (
    "Description",
    "DeploymentId",
    "AutoDeploy",
    "DefaultRouteSettings",
    "RouteSettings",
    "StageVariables",
    "AccessLogSettings",
)


class HttpStages:
    """Stages and deployments of HTTP APIs."""

    def __init__(self, store: GatewayStore, apis: HttpApis, invalidate: Callable[[str], None]):
        self.store = store
        self.apis = apis
        self.invalidate = invalidate

    def operations(self) -> Mapping[str, OperationHandler]:
        return {
            "CreateStage": self.create_stage,
            "GetStage": self.get_stage,
            "GetStages": self.get_stages,
            "UpdateStage": self.update_stage,
            "DeleteStage": self.delete_stage,
            "CreateDeployment": self.create_deployment,
            "GetDeployment": self.get_deployment,
            "GetDeployments": self.get_deployments,
            "DeleteDeployment": self.delete_deployment,
        }

    # --- after any change ------------------------------------------------------------

    def api_changed(self, api_id: str) -> None:
        """Redeploy the API's auto-deploy stages, then let the data plane reload."""
        if self.store.get(HTTP_API, api_id, "") is not None:
            for stage in self.store.list(STAGE, api_id):
                if stage.get("AutoDeploy"):
                    self._deploy_to(api_id, stage, auto=True)
        self.invalidate(api_id)

    def _deploy_to(self, api_id: str, stage: Record, auto: bool) -> Record | None:
        if not self.store.list(ROUTE, api_id):
            stage["LastDeploymentStatusMessage"] = "No routes to deploy"
            self.store.replace(STAGE, api_id, stage["StageName"], stage)
            return None
        deployment = self._new_deployment(api_id, None, auto)
        stage["DeploymentId"] = deployment["DeploymentId"]
        stage["LastUpdatedDate"] = time.time()
        stage["LastDeploymentStatusMessage"] = (
            f"Successfully deployed stage with deployment ID '{deployment['DeploymentId']}'"
        )
        self.store.replace(STAGE, api_id, stage["StageName"], stage)
        return deployment

    def _new_deployment(self, api_id: str, description: str | None, auto: bool) -> Record:
        api = self.apis.api(api_id)
        record: Record = {
            "DeploymentId": new_id(6),
            "DeploymentStatus": "DEPLOYED",
            "CreatedDate": time.time(),
            "AutoDeployed": auto,
            SNAPSHOT: {
                "cors": api.get("CorsConfiguration"),
                "routes": self.store.list(ROUTE, api_id),
                "integrations": {
                    i["IntegrationId"]: i for i in self.store.list(INTEGRATION, api_id)
                },
                "authorizers": self.store.list(HTTP_AUTHORIZER, api_id),
            },
        }
        if description:
            record["Description"] = description
        self.store.insert(DEPLOYMENT, api_id, record["DeploymentId"], record)
        return record

    # --- stages ----------------------------------------------------------------------

    def stage(self, api_id: str, name: str) -> Record:
        found = self.store.get(STAGE, api_id, name)
        if found is None:
            raise NotFoundException(f"Invalid stage identifier specified {name}")
        return found

    def create_stage(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.apis.api(api_id)
        name = params["StageName"]
        _check_stage_settings(params)
        if params.get("DeploymentId"):
            self.deployment(api_id, params["DeploymentId"])
        now = time.time()
        record: Record = {
            "StageName": name,
            "AutoDeploy": bool(params.get("AutoDeploy", False)),
            "CreatedDate": now,
            "LastUpdatedDate": now,
            "DefaultRouteSettings": params.get("DefaultRouteSettings")
            or {"DetailedMetricsEnabled": False},
            "RouteSettings": params.get("RouteSettings") or {},
            "StageVariables": params.get("StageVariables") or {},
            "Tags": params.get("Tags") or {},
        }
        for member in ("Description", "DeploymentId", "AccessLogSettings"):
            if params.get(member):
                record[member] = params[member]
        if not self.store.insert(STAGE, api_id, name, record):
            raise ConflictException(f"Stage already exists: {name}")
        if record["AutoDeploy"]:
            self._deploy_to(api_id, record, auto=True)
        self.invalidate(api_id)
        return record

    def get_stage(self, params: Params, ctx: RequestContext) -> Result:
        self.apis.api(params["ApiId"])
        return self.stage(params["ApiId"], params["StageName"])

    def get_stages(self, params: Params, ctx: RequestContext) -> Result:
        self.apis.api(params["ApiId"])
        return _listing(self.store.list(STAGE, params["ApiId"]), params)

    def update_stage(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.apis.api(api_id)
        record = self.stage(api_id, params["StageName"])
        _check_stage_settings(params)
        if params.get("DeploymentId"):
            self.deployment(api_id, params["DeploymentId"])
        for member in _STAGE_UPDATABLE:
            if member in params:
                record[member] = params[member]
        record["LastUpdatedDate"] = time.time()
        self.store.replace(STAGE, api_id, record["StageName"], record)
        if params.get("AutoDeploy"):
            self._deploy_to(api_id, record, auto=True)
        self.invalidate(api_id)
        return record

    def delete_stage(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.apis.api(api_id)
        if not self.store.delete(STAGE, api_id, params["StageName"]):
            raise NotFoundException(f"Invalid stage identifier specified {params['StageName']}")
        self.invalidate(api_id)
        return {}

    # --- deployments -----------------------------------------------------------------

    def deployment(self, api_id: str, deployment_id: str) -> Record:
        found = self.store.get(DEPLOYMENT, api_id, deployment_id)
        if found is None:
            raise NotFoundException(f"Invalid Deployment identifier specified {deployment_id}")
        return found

    def create_deployment(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.apis.api(api_id)
        stage = None
        if params.get("StageName"):
            stage = self.stage(api_id, params["StageName"])
            if stage.get("AutoDeploy"):
                raise BadRequestException(
                    "Deployments cannot be created for a stage with autoDeploy enabled: "
                    f"{stage['StageName']}"
                )
        if not self.store.list(ROUTE, api_id):
            raise BadRequestException("Unable to deploy API because no routes exist in this API")
        record = self._new_deployment(api_id, params.get("Description"), auto=False)
        if stage is not None:
            stage["DeploymentId"] = record["DeploymentId"]
            stage["LastUpdatedDate"] = time.time()
            self.store.replace(STAGE, api_id, stage["StageName"], stage)
            self.invalidate(api_id)
        return record

    def get_deployment(self, params: Params, ctx: RequestContext) -> Result:
        self.apis.api(params["ApiId"])
        return self.deployment(params["ApiId"], params["DeploymentId"])

    def get_deployments(self, params: Params, ctx: RequestContext) -> Result:
        self.apis.api(params["ApiId"])
        return _listing(self.store.list(DEPLOYMENT, params["ApiId"]), params)

    def delete_deployment(self, params: Params, ctx: RequestContext) -> Result:
        api_id = params["ApiId"]
        self.apis.api(api_id)
        deployment_id = params["DeploymentId"]
        self.deployment(api_id, deployment_id)
        for stage in self.store.list(STAGE, api_id):
            if stage.get("DeploymentId") == deployment_id:
                raise BadRequestException(
                    f"Active stages pointing to this deployment must be moved or deleted: "
                    f"{stage['StageName']}"
                )
        self.store.delete(DEPLOYMENT, api_id, deployment_id)
        return {}


def _check_stage_settings(params: Params) -> None:
    settings = params.get("AccessLogSettings")
    if settings:
        check_settings(settings.get("DestinationArn"), settings.get("Format"))
    if params.get("ClientCertificateId"):
        raise GatewayUnsupported("client certificates")


def snapshot_of(deployment: Record) -> dict[str, Any]:
    """The frozen API a deployment serves."""
    return dict(deployment.get(SNAPSHOT) or {})
