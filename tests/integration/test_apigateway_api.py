"""The API Gateway management APIs as an aws CLI script and boto3 use them: HTTP APIs
(apigatewayv2) and REST APIs (apigateway) built from scratch, deployed and called through the
execute-api endpoint, with the errors AWS answers."""
import json
import os
import unittest

import requests

import harness
from harness import Daemon, client_error

PLUGINS = os.path.abspath(os.environ.get("SLESS_TEST_PLUGINS") or os.path.join(harness.ROOT, "build", "tests", "plugins"))
PLUGIN = os.path.join(PLUGINS, "libtest_functions.so")
ROLE = "arn:aws:iam::000000000000:role/lambda-role"
REGION = harness.REGION


class ApiGatewayApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(in_memory=True).start()
        cls.lam = cls.d.client("lambda")
        cls.v2 = cls.d.client("apigatewayv2")
        cls.v1 = cls.d.client("apigateway")
        cls.fn_arn = cls.lam.create_function(
            FunctionName="api-echo", Runtime="provided.al2023", Role=ROLE, Handler="http_echo",
            Code={"S3Bucket": "hot-reload", "S3Key": PLUGIN})["FunctionArn"]
        cls.uri = f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{cls.fn_arn}/invocations"

    @classmethod
    def tearDownClass(cls):
        cls.d.cleanup()

    def call(self, api_id, path, method="GET", **kw):
        return requests.request(method, f"{self.d.endpoint}/_aws/execute-api/{api_id}{path}", **kw)

    # -- HTTP APIs ---------------------------------------------------------------------------

    def test_http_api_with_the_cli(self):
        api = self.d.aws("apigatewayv2", "create-api", "--name", "cli-api", "--protocol-type", "HTTP")
        api_id = api["ApiId"]
        self.assertEqual(api["ApiEndpoint"], f"http://{api_id}.execute-api.localhost:{self.d.port}")
        integ = self.d.aws("apigatewayv2", "create-integration", "--api-id", api_id, "--integration-type",
                           "AWS_PROXY", "--integration-uri", self.fn_arn, "--payload-format-version", "2.0")
        route = self.d.aws("apigatewayv2", "create-route", "--api-id", api_id, "--route-key", "GET /pets/{id}",
                           "--target", "integrations/" + integ["IntegrationId"])
        self.assertEqual(route["RouteKey"], "GET /pets/{id}")
        # Not served before a stage exists.
        self.assertEqual(self.call(api_id, "/pets/1").status_code, 404)
        self.d.aws("apigatewayv2", "create-stage", "--api-id", api_id, "--stage-name", "$default", "--auto-deploy")
        r = self.call(api_id, "/pets/1")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["pathParameters"], {"id": "1"})
        # The Host form as a browser would use it.
        r = requests.get(f"{self.d.endpoint}/pets/2", headers={"Host": f"{api_id}.execute-api.localhost"})
        self.assertEqual(r.json()["routeKey"], "GET /pets/{id}")
        routes = self.v2.get_routes(ApiId=api_id)["Items"]
        self.assertEqual([x["RouteKey"] for x in routes], ["GET /pets/{id}"])
        self.v2.delete_route(ApiId=api_id, RouteId=route["RouteId"])
        self.assertEqual(self.call(api_id, "/pets/1").status_code, 404)
        self.v2.delete_api(ApiId=api_id)
        e = client_error(self.v2.get_api, ApiId=api_id)
        self.assertEqual(e.response["Error"]["Code"], "NotFoundException")

    def test_quick_create_and_named_stage_deployments(self):
        api = self.v2.create_api(Name="quick", ProtocolType="HTTP", Target=self.fn_arn)
        r = self.call(api["ApiId"], "/anything/here?x=1")
        self.assertEqual((r.status_code, r.json()["routeKey"]), (200, "$default"))

        api_id = self.v2.create_api(Name="staged", ProtocolType="HTTP")["ApiId"]
        integ = self.v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=self.fn_arn,
                                           PayloadFormatVersion="1.0")["IntegrationId"]
        route_id = self.v2.create_route(ApiId=api_id, RouteKey="ANY /a", Target="integrations/" + integ)["RouteId"]
        self.v2.create_stage(ApiId=api_id, StageName="prod", StageVariables={"v": "1"})
        dep = self.v2.create_deployment(ApiId=api_id, StageName="prod")["DeploymentId"]
        self.assertEqual(self.v2.get_stage(ApiId=api_id, StageName="prod")["DeploymentId"], dep)
        e = self.call(api_id, "/prod/a", "POST").json()
        self.assertEqual((e["version"], e["requestContext"]["stage"], e["stageVariables"]), ("1.0", "prod", {"v": "1"}))
        # A later route is not served by the prod stage until the next deployment.
        self.v2.create_route(ApiId=api_id, RouteKey="GET /b", Target="integrations/" + integ)
        self.assertEqual(self.call(api_id, "/prod/b").status_code, 404)
        self.v2.create_deployment(ApiId=api_id, StageName="prod")
        self.assertEqual(self.call(api_id, "/prod/b").status_code, 200)
        self.assertEqual(len(self.v2.get_deployments(ApiId=api_id)["Items"]), 2)
        e = client_error(self.v2.delete_integration, ApiId=api_id, IntegrationId=integ)
        self.assertEqual(e.response["Error"]["Code"], "ConflictException")
        self.v2.update_route(ApiId=api_id, RouteId=route_id, RouteKey="ANY /renamed")
        self.assertEqual(self.v2.get_route(ApiId=api_id, RouteId=route_id)["RouteKey"], "ANY /renamed")

    def test_http_api_errors(self):
        e = client_error(self.v2.get_api, ApiId="nosuchapi")
        self.assertEqual((e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]),
                         ("NotFoundException", 404))
        api_id = self.v2.create_api(Name="errs", ProtocolType="HTTP")["ApiId"]
        e = client_error(self.v2.create_route, ApiId=api_id, RouteKey="GET nopath")
        self.assertEqual(e.response["Error"]["Code"], "BadRequestException")
        e = client_error(self.v2.create_route, ApiId=api_id, RouteKey="GET /x", Target="integrations/missing")
        self.assertEqual(e.response["Error"]["Code"], "BadRequestException")
        self.v2.create_route(ApiId=api_id, RouteKey="GET /x")
        e = client_error(self.v2.create_route, ApiId=api_id, RouteKey="GET /x")
        self.assertEqual(e.response["Error"]["Code"], "ConflictException")
        e = client_error(self.v2.create_integration, ApiId=api_id, IntegrationType="HTTP_PROXY",
                         IntegrationUri="http://example.com", PayloadFormatVersion="1.0")
        self.assertEqual(e.response["Error"]["Code"], "BadRequestException")
        e = client_error(self.v2.create_api, Name="ws", ProtocolType="WEBSOCKET",
                         RouteSelectionExpression="$request.body.action")
        self.assertEqual(e.response["Error"]["Code"], "BadRequestException")

    def test_request_authorizer_via_the_api(self):
        auth_arn = self.lam.create_function(FunctionName="api-auth", Runtime="provided.al2023", Role=ROLE,
                                            Handler="authorize", Code={"S3Bucket": "hot-reload", "S3Key": PLUGIN}
                                            )["FunctionArn"]
        api_id = self.v2.create_api(Name="authed", ProtocolType="HTTP")["ApiId"]
        integ = self.v2.create_integration(ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=self.fn_arn,
                                           PayloadFormatVersion="2.0")["IntegrationId"]
        authorizer = self.v2.create_authorizer(
            ApiId=api_id, Name="policy", AuthorizerType="REQUEST", AuthorizerPayloadFormatVersion="1.0",
            AuthorizerUri=f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{auth_arn}/invocations",
            IdentitySource=["$request.querystring.token"])
        self.assertEqual(authorizer["AuthorizerResultTtlInSeconds"], 0)
        self.v2.create_route(ApiId=api_id, RouteKey="GET /s", Target="integrations/" + integ,
                             AuthorizationType="CUSTOM", AuthorizerId=authorizer["AuthorizerId"])
        self.v2.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
        self.assertEqual(self.call(api_id, "/s").status_code, 401)
        self.assertEqual(self.call(api_id, "/s?token=deny").status_code, 403)
        r = self.call(api_id, "/s?token=allow")
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["requestContext"]["authorizer"]["lambda"]["user"], "ada")
        e = client_error(self.v2.delete_authorizer, ApiId=api_id, AuthorizerId=authorizer["AuthorizerId"])
        self.assertEqual(e.response["Error"]["Code"], "ConflictException")

    # -- REST APIs ---------------------------------------------------------------------------

    def test_rest_api_with_the_cli(self):
        api = self.d.aws("apigateway", "create-rest-api", "--name", "rest-cli", "--binary-media-types", "image/png")
        api_id = api["id"]
        resources = self.v1.get_resources(restApiId=api_id)["items"]
        self.assertEqual([(r["path"], r["id"]) for r in resources], [("/", api["rootResourceId"])])
        items = self.d.aws("apigateway", "create-resource", "--rest-api-id", api_id, "--parent-id",
                           api["rootResourceId"], "--path-part", "items")
        item = self.d.aws("apigateway", "create-resource", "--rest-api-id", api_id, "--parent-id", items["id"],
                          "--path-part", "{id}")
        self.assertEqual(item["path"], "/items/{id}")
        self.d.aws("apigateway", "put-method", "--rest-api-id", api_id, "--resource-id", item["id"],
                   "--http-method", "GET", "--authorization-type", "NONE")
        self.d.aws("apigateway", "put-integration", "--rest-api-id", api_id, "--resource-id", item["id"],
                   "--http-method", "GET", "--type", "AWS_PROXY", "--integration-http-method", "POST",
                   "--uri", self.uri)
        got = self.v1.get_method(restApiId=api_id, resourceId=item["id"], httpMethod="GET")
        self.assertEqual(got["methodIntegration"]["type"], "AWS_PROXY")
        dep = self.d.aws("apigateway", "create-deployment", "--rest-api-id", api_id, "--stage-name", "dev",
                         "--variables", "color=red")
        r = self.call(api_id, "/dev/items/9?z=1")
        self.assertEqual(r.status_code, 200)
        e = r.json()
        self.assertEqual((e["resource"], e["path"], e["pathParameters"], e["stageVariables"]),
                         ("/items/{id}", "/items/9", {"id": "9"}, {"color": "red"}))
        self.assertEqual(e["requestContext"]["path"], "/dev/items/9")
        self.assertEqual(self.call(api_id, "/dev/items").status_code, 403)  # no method there
        # A second stage on the same deployment; stage variables patched.
        self.v1.create_stage(restApiId=api_id, stageName="qa", deploymentId=dep["id"])
        self.v1.update_stage(restApiId=api_id, stageName="qa",
                             patchOperations=[{"op": "replace", "path": "/variables/color", "value": "green"}])
        self.assertEqual(self.call(api_id, "/qa/items/1").json()["stageVariables"], {"color": "green"})
        stages = self.v1.get_stages(restApiId=api_id)["item"]
        self.assertEqual(sorted(s["stageName"] for s in stages), ["dev", "qa"])
        self.v1.delete_rest_api(restApiId=api_id)
        self.assertEqual(self.call(api_id, "/dev/items/9").status_code, 404)

    def test_rest_api_errors(self):
        api = self.v1.create_rest_api(name="rest-errs")
        e = client_error(self.v1.get_rest_api, restApiId="nosuchapi")
        self.assertEqual(e.response["Error"]["Code"], "NotFoundException")
        e = client_error(self.v1.create_resource, restApiId=api["id"], parentId="nope", pathPart="x")
        self.assertEqual(e.response["Error"]["Code"], "NotFoundException")
        self.v1.create_resource(restApiId=api["id"], parentId=api["rootResourceId"], pathPart="x")
        e = client_error(self.v1.create_resource, restApiId=api["id"], parentId=api["rootResourceId"], pathPart="x")
        self.assertEqual(e.response["Error"]["Code"], "ConflictException")
        e = client_error(self.v1.create_deployment, restApiId=api["id"], stageName="dev")
        self.assertEqual(e.response["Error"]["Code"], "BadRequestException")
        self.v1.put_method(restApiId=api["id"], resourceId=api["rootResourceId"], httpMethod="GET",
                           authorizationType="NONE")
        e = client_error(self.v1.put_integration, restApiId=api["id"], resourceId=api["rootResourceId"],
                         httpMethod="GET", type="MOCK")
        self.assertEqual(e.response["Error"]["Code"], "BadRequestException")
        e = client_error(self.v1.get_integration, restApiId=api["id"], resourceId=api["rootResourceId"],
                         httpMethod="GET")
        self.assertEqual(e.response["Error"]["Code"], "NotFoundException")

    def test_stage_variables_are_checked(self):
        def refused(fn, **kw):
            e = client_error(fn, **kw)
            self.assertEqual((e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"]),
                             ("BadRequestException", 400), kw)
            return e.response["Error"]["Message"]

        # HTTP API: names of word characters, values of the allowed symbols, on create and update.
        api_id = self.v2.create_api(Name="vars", ProtocolType="HTTP")["ApiId"]
        message = refused(self.v2.create_stage, ApiId=api_id, StageName="s1", StageVariables={"bad-name": "x"})
        self.assertIn("Invalid stage variable name: bad-name", message)
        message = refused(self.v2.create_stage, ApiId=api_id, StageName="s1", StageVariables={"ok": "a<b"})
        self.assertIn("Invalid stage variable value: a<b", message)
        refused(self.v2.create_stage, ApiId=api_id, StageName="s1", StageVariables={"ok": ""})
        refused(self.v2.create_stage, ApiId=api_id, StageName="s1", StageVariables={"ok": "v" * 513})
        self.assertEqual(self.v2.get_stages(ApiId=api_id)["Items"], [])
        good = {"table_name": "orders-v2", "url": "http://host:80/p?q=1&r=a,b#f", "note": "two words"}
        self.v2.create_stage(ApiId=api_id, StageName="s1", StageVariables=good)
        refused(self.v2.update_stage, ApiId=api_id, StageName="s1", StageVariables={"a.b": "x"})
        self.assertEqual(self.v2.get_stage(ApiId=api_id, StageName="s1")["StageVariables"], good)

        # REST API: on CreateDeployment, CreateStage and UpdateStage's patch operations.
        api = self.v1.create_rest_api(name="rest-vars")
        rid = api["rootResourceId"]
        self.v1.put_method(restApiId=api["id"], resourceId=rid, httpMethod="GET", authorizationType="NONE")
        self.v1.put_integration(restApiId=api["id"], resourceId=rid, httpMethod="GET", type="AWS_PROXY",
                                integrationHttpMethod="POST", uri=self.uri)
        refused(self.v1.create_deployment, restApiId=api["id"], stageName="dev", variables={"x:y": "1"})
        self.assertEqual(self.v1.get_deployments(restApiId=api["id"])["items"], [])
        dep = self.v1.create_deployment(restApiId=api["id"], stageName="dev", variables={"color": "red"})
        refused(self.v1.create_stage, restApiId=api["id"], stageName="qa", deploymentId=dep["id"],
                variables={"color": "r\"ed"})
        refused(self.v1.update_stage, restApiId=api["id"], stageName="dev",
                patchOperations=[{"op": "replace", "path": "/variables/size", "value": "big"},
                                 {"op": "replace", "path": "/variables/bad name", "value": "x"}])
        self.assertEqual(self.v1.get_stage(restApiId=api["id"], stageName="dev")["variables"], {"color": "red"})
        self.v1.update_stage(restApiId=api["id"], stageName="dev",
                             patchOperations=[{"op": "remove", "path": "/variables/color"}])
        self.assertEqual(self.v1.get_stage(restApiId=api["id"], stageName="dev").get("variables", {}), {})

    def test_state_survives_restart(self):
        d = Daemon().start()
        try:
            v2 = d.client("apigatewayv2")
            api_id = v2.create_api(Name="durable", ProtocolType="HTTP")["ApiId"]
            v2.create_route(ApiId=api_id, RouteKey="GET /x")
            d.stop()
            d.start()
            v2 = d.client("apigatewayv2")
            self.assertEqual([r["RouteKey"] for r in v2.get_routes(ApiId=api_id)["Items"]], ["GET /x"])
        finally:
            d.cleanup()


if __name__ == "__main__":
    harness.main()
