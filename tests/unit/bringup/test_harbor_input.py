"""Bad input to the Harbor bootstrap is one ProvisioningFailed line naming the key or field, never a
traceback: hand-edited payloads in the harbor-bootstrap ConfigMap, hand-edited Secrets that do not
decode, and answers from Harbor (or whatever answers at its URL) without the fields the bootstrap reads."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from testbed.bringup.harbor import _credential, payload_documents, read_secret
from testbed.bringup.harbor_api import answer_fields, answer_list, answer_object
from testbed.errors import ProvisioningFailed

pytestmark = pytest.mark.unit
WHERE = "ConfigMap harbor/harbor-bootstrap"
GOOD = {"project.json": json.dumps({"project_name": "testbed", "metadata": {"auto_scan": "true"}}),
        "robot-ci.json": json.dumps({"name": "ci", "permissions": [{"kind": "project", "access": []}]})}


@pytest.mark.parametrize(("data", "message"), [
    ({"robot-ci.json": GOOD["robot-ci.json"]}, f"{WHERE} has no project.json"),
    ({**GOOD, "project.json": "{}"}, f"{WHERE}: project.json has no 'project_name'"),
    ({**GOOD, "project.json": '{"project_name": 7}'}, f"{WHERE}: project.json has no 'project_name'"),
    ({**GOOD, "project.json": "[1]"}, f"{WHERE}: project.json is list, not a JSON object"),
    ({**GOOD, "project.json": '{"project_name": "t", "metadata": []}'}, f"{WHERE}: project.json: 'metadata' is list, not an object"),
    ({**GOOD, "robot-ci.json": '{"description": "x"}'}, f"{WHERE}: robot-ci.json has no 'name'"),
    ({**GOOD, "robot-ci.json": '{"name": "ci", "permissions": ["x"]}'}, f"{WHERE}: robot-ci.json: 'permissions' is not a list of objects"),
    ({**GOOD, "robot-ci.json": "{"}, f"{WHERE}: robot-ci.json is not JSON: "),
    ({"project.json": GOOD["project.json"]}, f"{WHERE} has no robot-ci.json"),
])
def test_payloads_are_checked_before_harbor_is_called(data: dict[str, str], message: str) -> None:
    with pytest.raises(ProvisioningFailed) as caught:
        payload_documents({"data": data}, WHERE, ["robot-ci.json"])
    assert caught.value.message.startswith(f"harbor: {message}") and "\n" not in caught.value.message


def test_good_payloads_are_returned_parsed() -> None:
    docs = payload_documents({"data": GOOD}, WHERE, ["robot-ci.json"])
    assert docs["project.json"]["project_name"] == "testbed" and docs["robot-ci.json"]["name"] == "ci"


@pytest.mark.parametrize(("body", "fields", "message"), [
    ({"id": 3, "name": "robot$testbed+ci"}, {"name": str, "secret": str}, "POST /api/v2.0/robots: HTTP 201: Harbor's answer has no 'secret'"),
    ({"name": "testbed"}, {"project_id": int}, "POST /api/v2.0/robots: HTTP 201: Harbor's answer has no 'project_id'"),
    ({"project_id": "1"}, {"project_id": int}, "POST /api/v2.0/robots: HTTP 201: Harbor's 'project_id' is str, not int"),
    ({"id": True}, {"id": int}, "POST /api/v2.0/robots: HTTP 201: Harbor's 'id' is bool, not int"),
])
def test_answers_without_the_fields_read_are_named(body: dict[str, Any], fields: dict[str, type], message: str) -> None:
    with pytest.raises(ProvisioningFailed) as caught:
        answer_fields(body, fields, "POST /api/v2.0/robots: HTTP 201")
    assert caught.value.message == f"harbor: {message}"


def test_answers_of_the_wrong_shape_are_named() -> None:
    with pytest.raises(ProvisioningFailed, match=r"^harbor: GET /api/v2.0/health: Harbor answered list, not an object$"):
        answer_object([], "GET /api/v2.0/health")
    with pytest.raises(ProvisioningFailed, match=r"^harbor: GET /api/v2.0/projects: Harbor answered dict, not a list of objects$"):
        answer_list({"name": "testbed"}, "GET /api/v2.0/projects")
    assert answer_list(None, "GET /api/v2.0/projects") == []


class OneSecret:
    """Stands in for KubeAPI.get: the one Secret given."""

    def __init__(self, data: dict[str, str]) -> None:
        self.obj = {"metadata": {"name": "harbor-admin", "namespace": "harbor"}, "data": data}

    def get(self, *_args: Any) -> dict[str, Any]:
        return self.obj


@pytest.mark.parametrize("raw", ["not base64!", base64.b64encode(b"\xff\xfe").decode()])
def test_a_hand_edited_admin_secret_is_named(raw: str) -> None:
    api: Any = OneSecret({"HARBOR_ADMIN_PASSWORD": raw})
    with pytest.raises(ProvisioningFailed) as caught:
        read_secret(api, "harbor", "harbor-admin", "HARBOR_ADMIN_PASSWORD")
    assert caught.value.message == ("harbor: Secret harbor/harbor-admin: 'HARBOR_ADMIN_PASSWORD' is not base64-encoded "
                                    "UTF-8 text (edited by hand?): fix or delete it")


@pytest.mark.parametrize("data", [
    {".dockerconfigjson": "%%%"},
    {".dockerconfigjson": base64.b64encode(b"\xff").decode()},
    {".dockerconfigjson": base64.b64encode(b'["auths"]').decode()},
    {".dockerconfigjson": base64.b64encode(b'{"auths": {"h": {"username": 1, "password": "x"}}}').decode()},
    {".dockerconfigjson": base64.b64encode(b'{"auths": {"h": "x"}}').decode()},
])
def test_a_hand_edited_robot_secret_is_a_credential_we_do_not_have(data: dict[str, str]) -> None:
    ref = {"role": "robot", "robot": "pull", "format": "dockerconfig"}
    assert _credential({"data": data}, ref, "h") is None  # so the bootstrap refreshes it, no traceback
    basic = {"role": "robot", "robot": "ci", "format": "dockerconfig+basic"}
    assert _credential({"data": {"username": "%%%", "password": "%%%"}}, basic, "h") is None
