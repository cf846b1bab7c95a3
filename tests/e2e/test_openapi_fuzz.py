"""Generated requests over the whole OpenAPI document (schemathesis, a fixed seed, a bounded number
of examples per operation): no 5xx, every status documented, every body in the documented shape.

Requests carry the credentials the route expects (a customer, an agent, a compliance officer), so
the generated data reaches the validation and the logic behind the sign-in, not only the 401."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assistant.app import create_app
from assistant.channels.tokens import mint
from assistant.settings import PROJECT_ROOT
from tests.conftest import make_settings
from tests.e2e.test_wechat import TOKEN
from tests.fake_wechat import APPID, SECRET, FakeWeChat

EXAMPLES = 15  # per operation and mode; a fixed seed: the run is the same every time (60 found nothing more)
PASSWORD = "correct-horse-battery"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def wechat():
    with FakeWeChat() as server:  # WeChat's API answered locally: a bad login code is a 400, not a 503
        yield server


@pytest.fixture(scope="module")
def app(tmp_path_factory, wechat):
    kb = PROJECT_ROOT / "tests" / "fixtures" / "kb_small"
    var = tmp_path_factory.mktemp("fuzz")
    app = create_app(make_settings(var, kb, simulator_now="2026-11-25T10:30:00+08:00", wechat_token=TOKEN,
                                   wechat_appid=APPID, wechat_app_secret=SECRET,
                                   wechat_api_base_url=wechat.base_url, stt_max_bytes=256 * 1024,
                                   rate_limit_ip_per_minute=100_000, rate_limit_customer_per_minute=100_000),
                     ingest_in_background=False)
    with TestClient(app) as client:  # the lifespan runs: the parts are built, the index is ready
        client.app.state.handoff.agents.add("wangmin", "王敏", "supervisor", PASSWORD, client.app.state.handoff.clock())
        yield app


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture(scope="module")
def credentials(app) -> dict[str, dict]:
    s = app.state.settings
    agent = mint(s, f"agent:{app.state.handoff.agents.by_username('wangmin').id}", roles=["supervisor"])
    return {"customer": {"Authorization": f"Bearer {mint(s, '100001')}"},
            "agent": {"Authorization": f"Bearer {agent}"},
            "compliance": {"Authorization": f"Bearer {mint(s, 'staff-9', roles=['compliance'])}"}}


def _who(path: str) -> str:
    if path.startswith("/v1/agent"):
        return "agent"
    if path.startswith("/v1/compliance/audit"):
        return "compliance"
    return "customer"


@pytest.mark.schema_fuzz
def test_no_input_gets_a_5xx_or_leaves_the_documented_shape(api_schema, credentials) -> None:
    """Every operation, with data valid by the document and with data that breaks it."""
    failures: list[str] = []
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), phases=[Phase.generate])
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case) -> None:
                headers = dict(case.headers or {})
                if "authorization" not in {k.lower() for k in headers}:
                    headers.update(credentials[_who(case.path)])
                case.call_and_validate(headers=headers, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.path  # nothing to break: no parameters, no body
            except (Exception, BaseExceptionGroup) as exc:  # one line per operation and mode: the whole picture, not the first
                failures.append(f"{operation.method.upper()} {operation.path} ({mode.value}): "
                                f"{type(exc).__name__}: {str(exc)[:1500]}")
    assert operations >= 30
    assert not failures, "\n\n".join(failures)


def test_the_document_says_what_the_api_answers(app) -> None:
    doc = app.openapi()
    assert doc["openapi"].startswith("3.1")
    alternative = doc["components"]["schemas"]["ParseResponse"]["properties"]["alternatives"]["items"]
    assert alternative == {"$ref": "#/components/schemas/AlternativeOut"}  # an object, not a prefixItems tuple
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            codes = set(op["responses"])
            if path != "/healthz":
                assert {"400", "413", "422"} <= codes or path == "/readyz", (method, path, codes)
            for code, response in op["responses"].items():
                if code.startswith("4"):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, code)
    assert {"401", "403", "404", "429"} <= set(doc["paths"]["/v1/conversations/{conversation_id}/messages"]["post"]["responses"])
    assert {"415", "503"} <= set(doc["paths"]["/v1/stt"]["post"]["responses"])
    assert "409" in doc["paths"]["/v1/agent/tickets/{ticket_id}/claim"]["post"]["responses"]
    upload = doc["components"]["schemas"]["Body_stt_v1_stt_post"]["properties"]["audio"]
    assert upload["minLength"] == 1  # an empty upload is not a valid request
