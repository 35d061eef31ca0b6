"""The real app (``create_app``) behind the security layer: crafted callback requests.

The request bodies are built from ``/_dash-dependencies``, the same public description of the
callbacks that Dash's renderer reads, so the tests follow the dashboard as it changes.
"""

from __future__ import annotations

import json
import logging

import pytest
from sec_helpers import CITY, DISTRICT_A, DISTRICT_B, sign_in

from dashboard.settings import Settings
from data import audit, auth

dashboard_callbacks = pytest.importorskip("callbacks.dashboard")
from layouts.dashboard import Ids  # noqa: E402


@pytest.fixture
def real_app(tmp_path, demo_url, demo_engine):
    from dashboard.app import create_app

    auth.create_user(demo_engine, "linquan", "linquan-pass-1", role="leader", scope_code=DISTRICT_A)
    return create_app(Settings(instance_path=tmp_path / "instance", database_url=demo_url))


def _dependency(client, output_id: str) -> dict:
    """The server callback writing ``output_id``; for ``"reads:<id>"`` the one reading only it."""
    deps = client.get("/_dash-dependencies").get_json()
    deps = [d for d in deps if not d.get("clientside_function")]
    for dep in deps:
        if output_id.startswith("reads:"):
            if [i["id"] for i in dep["inputs"]] == [output_id.removeprefix("reads:")]:
                return dep
        elif f"..{output_id}." in dep["output"] or dep["output"].startswith(f"{output_id}."):
            return dep
    raise AssertionError(f"no callback for {output_id}")


def _outputs(spec: str) -> list[dict[str, str]]:
    if "." not in spec:  # a callback without outputs (set_props only)
        return []
    parts = spec.strip(".").split("...") if spec.startswith("..") else [spec]
    return [dict(zip(("id", "property"), p.rsplit(".", 1), strict=True)) for p in parts]


def _crafted(client, output_id: str, values: dict[str, object]):  # noqa: ANN001
    """POST what the renderer would, with the inputs set to ``values`` (id.property → value)."""
    dep = _dependency(client, output_id)
    outputs = _outputs(dep["output"])
    inputs = [{**i, "value": values.get(f"{i['id']}.{i['property']}")} for i in dep["inputs"]]
    body = {
        "output": dep["output"],
        "outputs": outputs if len(outputs) != 1 else outputs[0],
        "inputs": inputs,
        "changedPropIds": list(values),
        "state": [{**s, "value": None} for s in dep["state"]],
    }
    return client.post(
        "/_dash-update-component", data=json.dumps(body), content_type="application/json"
    )


def _text(response) -> str:  # noqa: ANN001
    """The callback answer with Chinese readable (Dash escapes non-ASCII in JSON)."""
    return json.dumps(response.get_json(), ensure_ascii=False)


def test_secr001_real_app_needs_a_session(real_app) -> None:
    client = real_app.server.test_client()
    assert client.get("/").status_code == 302
    assert client.get("/_dash-dependencies").status_code == 401
    sign_in(client)
    page = client.get("/")
    assert page.status_code == 200 and "sha256-" in page.headers["Content-Security-Policy"]
    header = _crafted(client, Ids.TITLE, {f"{Ids.STATE}.data": {"search": f"?unit={DISTRICT_B}"}})
    assert header.status_code == 200  # the demo account sees the whole city …
    assert "华湖县" in _text(header)  # … so the refusal tests below can look for this name


@pytest.mark.parametrize("output_id", [Ids.TITLE, Ids.MAP, Ids.TREND_DISPUTE, Ids.PATROL])
def test_secr002_crafted_state_outside_the_scope_is_refused(
    real_app, demo_engine, output_id: str
) -> None:
    client = real_app.server.test_client()
    sign_in(client, "linquan", "linquan-pass-1")
    crafted = _crafted(client, output_id, {f"{Ids.STATE}.data": {"search": f"?unit={DISTRICT_B}"}})
    # Either refused outright (403) or answered for the user's own unit: never 华湖县's data.
    assert crafted.status_code in (200, 403)
    if crafted.status_code == 200:
        assert "华湖县" not in _text(crafted)
    refused = audit.entries(demo_engine, action="refused")
    assert DISTRICT_B in refused.unit_code.tolist()
    assert set(refused.username) == {"linquan"}


def test_secr003_url_outside_the_scope_opens_the_users_own_unit(real_app, demo_engine) -> None:
    client = real_app.server.test_client()
    sign_in(client, "linquan", "linquan-pass-1")
    store = {"search": f"?unit={CITY}"}
    # The view's one callback (page load, link, drill, Back): refused, audited, replaced.
    header = _crafted(client, Ids.TITLE, {f"{Ids.STATE}.data": store})
    assert header.status_code == 200
    text = _text(header)
    assert "临泉区" in text and "云岚市" not in text and "华湖县" not in text
    refused = audit.entries(demo_engine, action="refused")
    assert refused.unit_code.tolist() == [CITY]
    # The view's row is written once the answer has gone out (the server closes it then).
    assert audit.entries(demo_engine, action="view").empty
    header.close()
    views = audit.entries(demo_engine, action="view")
    assert views.unit_code.tolist() == [DISTRICT_A]
    assert set(views.username) == {"linquan"}


def test_secr004_a_failed_view_audit_is_logged_once_the_answer_is_out(
    real_app, monkeypatch, caplog
) -> None:
    client = real_app.server.test_client()
    sign_in(client)

    def fail(*_args: object, **_kwargs: object) -> bool:
        raise OSError("disk full")

    monkeypatch.setattr(audit, "record", fail)
    header = _crafted(client, Ids.TITLE, {f"{Ids.STATE}.data": {"search": ""}})
    assert header.status_code == 200 and "云岚市" in _text(header)
    with caplog.at_level(logging.ERROR, logger="callbacks.scope"):
        header.close()
    assert "was not recorded" in caplog.text and "disk full" in caplog.text
