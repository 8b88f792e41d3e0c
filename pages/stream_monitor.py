"""Live Stream: what the Kafka consumer stored lately, refreshed by a fragment every 5 s."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from core.vocabulary import DATA_TOPICS
from ui import charts, components, loaders
from ui.formatting import city_tz
from ui.sidebar import current_context
from ui.stream_tables import (
    consumer_state,
    counts_from_snapshots,
    dlq_table,
    latest_messages,
    rate_table,
)

WINDOW_MIN = 30
RATE_MIN = 5
LATEST_PER_TOPIC = 15

ctx = current_context()
st.title(f"Live Stream · {ctx.city_label}")
st.caption(f"Messages consumed from Kafka into MongoDB (newest per topic from live_feed_latest). "
           f"Refreshes every 5 s; times in {ctx.timezone}.")


@st.fragment(run_every="5s")
def live_panel(city_id: str, tz_name: str, zone_names: dict[str, str]) -> None:
    tz = city_tz(tz_name)
    now = datetime.now(UTC)
    live = loaders.load_live_feed(city_id, WINDOW_MIN)
    feed = live["feed"]
    status = loaders.load_consumer_status()
    dlq = loaders.load_dlq(10)
    level, sentence, _ = consumer_state(status, now)
    if level == "ok":
        st.success(sentence, icon=":material/check_circle:")
    elif level in ("stale", "reconnecting"):
        st.warning(sentence, icon=":material/warning:")
    else:
        st.info(sentence, icon=":material/info:")

    counts = counts_from_snapshots(live["minute_counts"], now, WINDOW_MIN, tz)
    rates = rate_table(counts, status, RATE_MIN)
    total_lag = sum(v for v in rates["Lag (msgs)"] if isinstance(v, int | float))
    cols = st.columns(3)
    cols[0].metric(f"Messages, last {RATE_MIN} min", f"{int(counts.tail(RATE_MIN).sum().sum()):,}",
                   border=True)
    cols[1].metric("Consumer lag", f"{int(total_lag):,} messages", border=True)
    cols[2].metric("Dead-letter queue", f"{dlq['count']:,} messages", border=True)

    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(charts.stream_rates(counts, tz_name), key="stream_rates")
    with right:
        st.dataframe(rates, hide_index=True, key="rate_table")

    st.subheader("Latest messages per topic")
    if feed.empty:
        components.empty_state(f"No messages for this city in the last {WINDOW_MIN} min",
                               "the consumer in the sidecar (`python -m pipeline.scheduler`) "
                               "writes kafka_live_feed as it stores each message.")
    else:
        for topic, tab in zip(DATA_TOPICS, st.tabs(list(DATA_TOPICS)), strict=True):
            with tab:
                rows = latest_messages(feed, topic, LATEST_PER_TOPIC, zone_names, tz)
                if rows.empty:
                    st.caption(f"No {topic} messages in the last {WINDOW_MIN} min.")
                else:
                    st.dataframe(rows, hide_index=True, key=f"latest_{topic}")

    st.subheader("Dead-letter queue")
    if dlq["count"] == 0:
        st.success("Empty: every message passed validation.", icon=":material/check:")
    else:
        st.caption(f"{dlq['count']:,} messages kept 7 days; newest reasons:")
        st.dataframe(dlq_table(dlq["latest"], now, tz), hide_index=True, key="dlq_table")


live_panel(ctx.city_id, str(ctx.timezone), ctx.zone_names)
