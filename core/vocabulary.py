"""Names shared by every layer: Kafka topics, MongoDB collections, source kinds, providers,
model names. One definition each (docs/architecture.md §3, §6)."""

from __future__ import annotations

SCHEMA_VERSION = 1

# source kinds: the catalog's, the scheduler's and the UI's word for one feed
SOURCE_KINDS = ("weather", "aqi", "traffic", "power", "incidents")

# how often each kind is fetched (minutes): the scheduler's cadence and the simulator's step
CADENCE_MIN = {"weather": 10, "aqi": 10, "traffic": 5, "power": 15, "incidents": 5}

# the `source` field of a canonical record: a live provider, or the simulator
SOURCES = ("open-meteo", "eia", "socrata", "nyc-dot", "tomtom", "simulated")
SIMULATED = "simulated"

# models trained offline and served from model_outputs (registry names)
MODEL_NAMES = ("lstm", "tft", "gnn", "gbm")


class Topic:
    """Kafka topic names."""

    WEATHER = "weather_obs"
    AQI = "aqi_stream"
    TRAFFIC = "traffic_events"
    POWER = "power_demand"
    INCIDENTS = "incident_text"
    # one city-wide record per issue hour: the weather source's temperature forecast
    WEATHER_FORECAST = "weather_forecast"
    ALERTS = "grid_alerts"
    DLQ = "citylive.dlq"
    # no messages: its partitions, assigned by Kafka's group coordination, say which sidecar
    # owns which city (core.ownership, docs/architecture.md §13)
    CONTROL = "citylive.control"


# the observation topics: one record per zone (and link or incident), shown on Live Stream
DATA_TOPICS = (Topic.WEATHER, Topic.AQI, Topic.TRAFFIC, Topic.POWER, Topic.INCIDENTS)
# what the consumer reads and stores: the observations and the weather forecasts
CONSUMED_TOPICS = (*DATA_TOPICS, Topic.WEATHER_FORECAST)
ALL_TOPICS = (*CONSUMED_TOPICS, Topic.ALERTS, Topic.DLQ, Topic.CONTROL)

# target hours of a stored weather forecast: issue hour + 0..47 h
FORECAST_HOURS = 48

# source kind -> topic
KIND_TOPIC = {
    "weather": Topic.WEATHER,
    "aqi": Topic.AQI,
    "traffic": Topic.TRAFFIC,
    "power": Topic.POWER,
    "incidents": Topic.INCIDENTS,
}


class C:
    """MongoDB collection names (docs/architecture.md §6)."""

    CITIES = "cities"
    ZONES = "zones"
    RAW_WEATHER = "raw_weather"
    RAW_AQI = "raw_aqi"
    RAW_TRAFFIC = "raw_traffic"
    RAW_POWER = "raw_power"
    RAW_311 = "raw_311"
    WEATHER_FORECASTS = "weather_forecasts"
    LIVE_FEED = "kafka_live_feed"
    LIVE_FEED_LATEST = "live_feed_latest"
    METER_READINGS = "meter_readings"
    PROCESSED = "processed_zone_data"
    ZONE_LATEST = "zone_latest"
    CITY_LATEST = "city_latest"
    CITY_DAY = "city_day"
    ALERTS = "alerts"
    RECOMMENDATIONS = "recommendations"
    MODEL_OUTPUTS = "model_outputs"
    MODEL_REGISTRY = "model_registry"
    MODEL_SCORECARD = "model_scorecard"
    PIPELINE_RUNS = "pipeline_runs"
    DLQ = "dlq"
    CITY_REQUESTS = "city_requests"
    CITY_SEARCHES = "city_searches"
    WATERMARKS = "watermarks"
    CONSUMER_STATUS = "consumer_status"
    RETENTION_STATE = "retention_state"


RAW_COLLECTIONS = (C.RAW_WEATHER, C.RAW_AQI, C.RAW_TRAFFIC, C.RAW_POWER, C.RAW_311)

TOPIC_COLLECTION = {
    Topic.WEATHER: C.RAW_WEATHER,
    Topic.AQI: C.RAW_AQI,
    Topic.TRAFFIC: C.RAW_TRAFFIC,
    Topic.POWER: C.RAW_POWER,
    Topic.INCIDENTS: C.RAW_311,
    Topic.WEATHER_FORECAST: C.WEATHER_FORECASTS,
}
