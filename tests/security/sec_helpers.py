"""Helpers shared by the security tests: a small secured Dash app and request builders.

The secured app is the real security layer (``init_security``) in front of a minimal Dash
layout whose one callback takes a unit code and passes it through ``authorize_unit``, exactly
as the dashboard's callbacks do. It lets the HTTP path be tested without depending on the
dashboard pages.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path

import sqlalchemy as sa
from dash import Dash, Input, Output, dcc, html

from callbacks import scope
from callbacks.services import Services
from dashboard.app import ASSETS
from dashboard.security import current_principal, init_security
from dashboard.settings import Settings
from data.repository import Repository

CITY = "359800"
DISTRICT_A = "359802"  # 临泉区
DISTRICT_B = "359821"  # 华湖县


class Ids(StrEnum):
    UNIT = "sectest-unit"
    OUT = "sectest-out"


def make_settings(tmp_path: Path, demo_url: str, **changes: object) -> Settings:
    return Settings(instance_path=tmp_path / "instance", database_url=demo_url).with_overrides(
        **changes
    )


def build_secured_app(settings: Settings, engine: sa.Engine) -> Dash:
    """A minimal app with the real security layer and one scope-checked callback."""
    repo = Repository(engine)
    services = Services(
        repo=repo,
        title=settings.title,
        data_source=settings.data_source,
        is_demo=True,
        current_user=current_principal,
        small_count_threshold=settings.small_count_threshold,
    )
    app = Dash(__name__, serve_locally=True, assets_folder=str(ASSETS), update_title=None)
    init_security(app, settings, engine)
    app.layout = html.Div([dcc.Input(id=Ids.UNIT, value=CITY), html.Div(id=Ids.OUT)])

    @app.callback(Output(Ids.OUT, "children"), Input(Ids.UNIT, "value"))
    def show(unit_code: str) -> str:
        code = scope.authorize_unit(services, unit_code)
        scope.record_view(services, code)
        return repo.unit(code).name

    return app


def csrf_from(html_text: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html_text)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client, username: str = "demo", password: str = "demo", **extra: str):  # noqa: ANN001
    """Post the sign-in form like a browser: fetch the page for its CSRF token first."""
    page = client.get("/login")
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, **extra},
    )


def callback_body(unit_code: object) -> str:
    """The JSON Dash's renderer posts for the test app's callback."""
    return json.dumps(
        {
            "output": f"{Ids.OUT}.children",
            "outputs": {"id": str(Ids.OUT), "property": "children"},
            "inputs": [{"id": str(Ids.UNIT), "property": "value", "value": unit_code}],
            "changedPropIds": [f"{Ids.UNIT}.value"],
            "state": [],
        }
    )


def post_callback(client, unit_code: object, **headers: str):  # noqa: ANN001
    return client.post(
        "/_dash-update-component",
        data=callback_body(unit_code),
        content_type="application/json",
        headers=headers,
    )
