"""City Live UI entry point: page navigation and the sidebar city/zone choice.

    streamlit run app.py        # serves on 8501; pages read MongoDB only (ui.loaders)

The page files live in pages/ and are registered here with st.navigation; URLs are
`/` (City Live), `/analytics`, `/models`, `/live_stream`, `/pipeline_health`, and
`?city=<id>&zone=<id>` deep-links any of them.

No page file is named after another page's URL path: until st.navigation has run once in
the process, Streamlit treats pages/ as a legacy pages directory, and a first request for
`/analytics` would run pages/analytics.py on its own, without this script (no sidebar, no
city). With distinct names that request falls through to this script, which routes it.
"""

from __future__ import annotations

import streamlit as st
from pymongo.errors import PyMongoError

from ui.components import city_request_banner
from ui.formatting import md_escape
from ui.sidebar import current_context, draw_selectors, request_city_if_idle

st.set_page_config(page_title="City Live", page_icon=":material/location_city:", layout="wide")

PAGES = [
    st.Page("pages/city_live.py", title="City Live", icon=":material/location_city:",
            url_path="", default=True),
    st.Page("pages/history_analytics.py", title="Analytics", icon=":material/insights:",
            url_path="analytics"),
    st.Page("pages/model_forecasts.py", title="Models", icon=":material/model_training:",
            url_path="models"),
    st.Page("pages/stream_monitor.py", title="Live Stream", icon=":material/stream:",
            url_path="live_stream"),
    st.Page("pages/pipeline_status.py", title="Pipeline Health", icon=":material/monitor_heart:",
            url_path="pipeline_health"),
]
ZONE_PAGES = {"", "models"}  # url paths whose page is about one zone

page = st.navigation(PAGES)
try:
    selection = draw_selectors(show_zone=page.url_path in ZONE_PAGES)
    for warning in selection.warnings:
        st.warning(md_escape(warning), icon=":material/link_off:")  # has URL text
    context = current_context()
    request = request_city_if_idle(context)  # the UI's one write (architecture §1)
    if page.url_path != "":  # City Live shows its own loading state
        city_request_banner(request, context.timezone)
    page.run()
except PyMongoError as exc:
    st.error(f"MongoDB is not reachable ({type(exc).__name__}). Start the local services with "
             "`make services`, or point MONGO_URI at a running server.",
             icon=":material/cloud_off:")
