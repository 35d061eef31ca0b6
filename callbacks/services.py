"""What callbacks receive at registration: the repository and the display settings they need."""

from __future__ import annotations

from dataclasses import dataclass

from data.repository import Repository


@dataclass(frozen=True)
class Services:
    repo: Repository
    title: str
    data_source: str
    #: Shown in the footer: the demo city is fictional, real data is not.
    is_demo: bool
    tiles_url: str = ""
    tiles_crs: str = "wgs84"
