"""Shared constants and helpers of the UI tests (imported by conftest and the test modules)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pymongo.database import Database

from core.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "app.py")
TEST_DB = "citylive_test_ui"


@dataclass
class Seeded:
    db: Database
    now: datetime
    name: str


def point_settings_at(db_name: str | None) -> None:
    """Set MONGO_DB (or unset it) and drop the cached settings so the next read sees it."""
    if db_name is None:
        os.environ.pop("MONGO_DB", None)
    else:
        os.environ["MONGO_DB"] = db_name
    get_settings.cache_clear()


def clear_streamlit_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
