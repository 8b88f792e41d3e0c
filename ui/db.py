"""The UI's one MongoClient (st.cache_resource: one per process, shared by every session)."""

from __future__ import annotations

import streamlit as st
from pymongo import MongoClient
from pymongo.database import Database

from core.settings import get_settings
from core.storage import mongo_client


@st.cache_resource(show_spinner=False)
def mongo() -> MongoClient:
    """Built once per process from the settings; pymongo pools connections inside it."""
    return mongo_client(get_settings())


def get_db() -> Database:
    """The configured database (MONGO_DB) on the shared client."""
    return mongo()[get_settings().mongo_db]
