"""The stack outputs the web console's URL: `GET /` of the API, on the stage SAM creates."""

from __future__ import annotations

from typing import Any


def test_the_stack_outputs_the_console_url_on_the_api_stage(translated: dict[str, Any]) -> None:
    outputs = translated["Outputs"]
    console = outputs["ConsoleUrl"]["Value"]["Fn::Sub"]
    stage = next(name for name, r in translated["Resources"].items() if r["Type"] == "AWS::ApiGateway::Stage")
    assert console == f"https://${{RestAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/${{{stage}}}/"
    assert translated["Resources"][stage]["Properties"]["StageName"] == "api"
    endpoint = outputs["EndpointURL"]["Value"]["Fn::Sub"]
    assert endpoint.replace("/api/", f"/${{{stage}}}/") == console, "the console is the API's root"
