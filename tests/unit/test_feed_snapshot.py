from datetime import UTC, datetime, timedelta

from ingest.consumer import FEED_LATEST_ROWS, merge_feed_snapshot

NOW = datetime(2026, 11, 28, 14, 30, tzinfo=UTC)


def rows(n: int, start_offset: int, minutes_ago: float = 0.0) -> list[dict]:
    at = NOW - timedelta(minutes=minutes_ago)
    return [{"_id": f"weather_obs|0|{start_offset + i}", "topic": "weather_obs", "offset":
             start_offset + i, "consumed_at": at, "city_id": "nyc", "zone_id": "z01"}
            for i in range(n)]


def test_keeps_newest_rows_and_counts_per_minute():
    first = merge_feed_snapshot(None, rows(25, 0, minutes_ago=2), "nyc", "weather_obs", NOW)
    second = merge_feed_snapshot(first, rows(20, 100), "nyc", "weather_obs", NOW)
    assert second["_id"] == "nyc|weather_obs"
    assert len(second["latest"]) == FEED_LATEST_ROWS
    assert [r["offset"] for r in second["latest"][:3]] == [119, 118, 117]
    assert all("_id" not in r for r in second["latest"])
    assert second["minute_counts"] == {"2026-11-28T14:28": 25, "2026-11-28T14:30": 20}


def test_counts_older_than_an_hour_are_dropped():
    old = merge_feed_snapshot(None, rows(5, 0, minutes_ago=90), "nyc", "weather_obs",
                              NOW - timedelta(minutes=90))
    new = merge_feed_snapshot(old, rows(1, 10), "nyc", "weather_obs", NOW)
    assert list(new["minute_counts"]) == ["2026-11-28T14:30"]


def test_merging_the_same_batch_twice_gives_the_same_snapshot_as_once():
    batch = rows(5, 0, minutes_ago=1)
    once = merge_feed_snapshot(None, batch, "nyc", "weather_obs", NOW)
    twice = merge_feed_snapshot(once, batch, "nyc", "weather_obs", NOW)
    assert twice == once
    # a replay delivered later (another minute) is still not counted again
    later = merge_feed_snapshot(once, batch, "nyc", "weather_obs", NOW + timedelta(minutes=3))
    assert later["minute_counts"] == once["minute_counts"]
    assert later["latest"] == once["latest"]
