""""Add a city…" in the sidebar: the UI's side of the city_searches exchange.

The UI only validates the name (core.gazetteer.clean_query: a bad name writes nothing) and
writes documents; the sidecar looks the name up and adds the city (pipeline.city_searches,
docs/architecture.md §1). While an exchange is open, a fragment re-reads its document every
second.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import streamlit as st

from core.gazetteer import PlaceNameError, clean_query
from core.vocabulary import C
from ui import loaders
from ui.db import get_db
from ui.formatting import md_escape

SEARCH_KEY = "_add_city_search"  # the open exchange's document id
CITY_KEY = "city"  # ui.sidebar's canonical city choice


def start_search(raw: str) -> str:
    """Validate the name and open an exchange; returns its id. Raises PlaceNameError."""
    query = clean_query(raw)
    now = datetime.now(UTC)
    search_id = uuid.uuid4().hex
    get_db()[C.CITY_SEARCHES].insert_one({"_id": search_id, "query": query,
                                          "status": "pending", "requested_at": now,
                                          "updated_at": now})
    return search_id


def choose(search_id: str, choice: int) -> None:
    get_db()[C.CITY_SEARCHES].update_one(
        {"_id": search_id, "status": "found"},
        {"$set": {"status": "chosen", "choice": int(choice), "updated_at": datetime.now(UTC)}})


def draw_add_city() -> None:
    with st.sidebar.expander("Add a city…", expanded=SEARCH_KEY in st.session_state):
        with st.form("add_city_form", border=False):
            raw = st.text_input("City name", placeholder="e.g. São Paulo, 東京, Portland")
            submitted = st.form_submit_button("Find")
        if submitted:
            try:
                st.session_state[SEARCH_KEY] = start_search(raw)
            except PlaceNameError as exc:
                st.error(str(exc))
        if SEARCH_KEY in st.session_state:
            _exchange()


@st.fragment(run_every=1.0)
def _exchange() -> None:
    search_id = st.session_state.get(SEARCH_KEY)
    if search_id is None:
        return
    doc: dict[str, Any] | None = get_db()[C.CITY_SEARCHES].find_one({"_id": search_id})
    status = (doc or {}).get("status")
    if doc is None or status == "error":
        st.error((doc or {}).get("error") or "the search was lost; try again")
        if st.button("Dismiss", key="add_city_dismiss"):
            del st.session_state[SEARCH_KEY]
            st.rerun()
        return
    query = md_escape(str(doc.get("query", "")))
    if status == "pending":
        st.caption(f"Looking up {query}…")
    elif status == "found":
        _choices(search_id, doc)
    elif status == "chosen":
        st.caption("Adding the city…")
    elif status == "added":
        del st.session_state[SEARCH_KEY]
        loaders.load_cities.clear()
        st.session_state[CITY_KEY] = doc["city_id"]
        st.rerun(scope="app")


def _choices(search_id: str, doc: dict[str, Any]) -> None:
    candidates = doc.get("candidates") or []
    if doc.get("note"):
        st.caption(md_escape(doc["note"]))
    labels = [_label(c) for c in candidates]
    picked = st.radio("Which one?", range(len(labels)), format_func=labels.__getitem__,
                      key=f"add_city_pick_{search_id}")
    if st.button("Add", key=f"add_city_go_{search_id}", type="primary"):
        choose(search_id, int(picked or 0))
        st.rerun(scope="fragment")


def _label(candidate: dict[str, Any]) -> str:
    population = candidate.get("population")
    people = f" · {population:,} people" if population else ""
    return md_escape(f"{candidate.get('label') or candidate.get('name')}{people}")
