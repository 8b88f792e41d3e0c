"""Hand-built read-model documents (the shapes in the read-model contract) for UI tests and
the UI bench. Deterministic for a given `now` and seed; written with the storage helpers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pymongo.database import Database

from core.aqi import aqi_category_doc
from core.catalog import City, load_catalog
from core.ids import make_id
from core.runs import scope_hour
from core.storage import insert_new, load_catalog_into
from core.subregions import series_ids, series_names, series_points
from core.vocabulary import DATA_TOPICS, MODEL_NAMES, C
from ingest.consumer import update_feed_snapshots
from pipeline.history import FRAME_COLUMNS, frame_to_city_days, write_city_days

COMPLAINTS = ("Noise - Residential", "HEAT/HOT WATER", "Illegal Parking", "Street Condition",
              "Blocked Driveway")
UNITS = {"demand_mw": "MW", "demand_forecast_mw": "MW", "temperature_c": "°C",
         "relative_humidity_pct": "%", "wind_speed_kmh": "km/h", "precipitation_mm": "mm",
         "us_aqi": "AQI", "pm2_5": "µg/m³", "congestion": "ratio", "speed_kmh": "km/h",
         "incidents_24h": "count", "open_incidents": "count"}
MISSING_AQI_ZONES = 2  # the last zones report no AQI (last seen 3 h ago)


def seed_catalog(db: Database, active: tuple[str, ...] = ("nyc",)) -> dict[str, City]:
    catalog = load_catalog()
    load_catalog_into(db, catalog.values())
    for city_id in active:
        db[C.CITIES].update_one({"_id": city_id}, {"$set": {"active": True}})
    return catalog


def hourly_frame(city: City, start: datetime, hours: int, seed: int = 7) -> pd.DataFrame:
    """Plausible hourly zone history: diurnal temperature and demand, AQI, congestion, 311."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, periods=hours, freq="h", tz=UTC)
    hour = ts.hour.to_numpy()
    rows = []
    for i, zone in enumerate(city.zones):
        temp = 8 + 6 * np.sin((hour - 9) / 24 * 2 * np.pi) + rng.normal(0, 0.8, hours) + i * 0.05
        demand = (5000 + 60 * temp + 800 * np.sin((hour - 12) / 24 * 2 * np.pi)) * zone.weight
        frame = pd.DataFrame({
            "city_id": city.city_id, "zone_id": zone.zone_id, "ts": ts,
            "demand_mw": demand + rng.normal(0, 2, hours),
            "demand_forecast_mw": demand * 1.02,
            "temperature_c": temp, "relative_humidity_pct": 60 + rng.normal(0, 5, hours),
            "wind_speed_kmh": np.abs(rng.normal(12, 4, hours)),
            "precipitation_mm": np.clip(rng.normal(0, 0.3, hours), 0, None),
            "us_aqi": np.clip(40 + 3 * i + rng.normal(0, 6, hours), 5, 300),
            "pm2_5": np.clip(8 + rng.normal(0, 2, hours), 0, None),
            "congestion": np.clip(0.3 + 0.25 * np.sin((hour - 8) / 24 * 2 * np.pi)
                                  + rng.normal(0, 0.05, hours), 0, 1),
            "speed_kmh": 40 + rng.normal(0, 5, hours),
            "incident_count": rng.poisson(1.5, hours).astype(float),
            "risk_score": np.clip(20 + 2 * i + rng.normal(0, 5, hours), 0, 100),
        })
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)[list(FRAME_COLUMNS)]


def city_day_docs(city: City, now: datetime, days: int) -> list[dict[str, Any]]:
    """city_day documents for the last `days` UTC days up to the current hour."""
    end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = (end - timedelta(days=days)).replace(hour=0)
    frame = hourly_frame(city, start, int((end - start) / timedelta(hours=1)))
    extras: dict[str, dict[str, Any]] = {}
    for day in pd.date_range(start, end, freq="D", tz=UTC, inclusive="left"):
        day_dt = day.to_pydatetime()
        zone = city.zones[day.day % len(city.zones)]
        extras[make_id(city.city_id, day_dt.strftime("%Y-%m-%d"))] = {
            "incidents_by_type": {c: 5 + 3 * k + day.day % 4 for k, c in enumerate(COMPLAINTS)},
            "anomalies": [{"zone_id": zone.zone_id, "ts": day_dt + timedelta(hours=14),
                           "metric": "demand_mw", "value": 123.4, "zscore": 3.6}],
        }
    return frame_to_city_days(frame, extras)


def _metric(value: float | None, observed: datetime | None, metric: str) -> dict[str, Any]:
    return {"value": None if value is None else round(float(value), 3), "observed_at": observed,
            "unit": UNITS[metric]}


def zone_latest_docs(city: City, now: datetime, source: str = "simulated") -> list[dict]:
    docs = []
    levels = ("low", "moderate", "high", "critical")
    for i, zone in enumerate(city.zones):
        observed = now - timedelta(minutes=4)
        aqi = 30 + 3 * i
        missing_aqi = i >= len(city.zones) - MISSING_AQI_ZONES
        values = {"demand_mw": 6000 * zone.weight,
                  "demand_forecast_mw": 5900 * zone.weight,
                  "temperature_c": 11.5 + i * 0.1, "relative_humidity_pct": 62,
                  "wind_speed_kmh": 14, "precipitation_mm": 0.0, "us_aqi": aqi,
                  "pm2_5": 9.5, "congestion": 0.2 + (i % 7) * 0.1, "speed_kmh": 32,
                  "incidents_24h": 10 + i, "open_incidents": 2 + i % 5}
        metrics = {m: _metric(v, observed, m) for m, v in values.items()}
        if missing_aqi:
            metrics["us_aqi"] = _metric(None, now - timedelta(hours=3), "us_aqi")
        score = min(100, 5 + i * 2.4)
        docs.append({
            "_id": make_id(city.city_id, zone.zone_id), "city_id": city.city_id,
            "zone_id": zone.zone_id, "zone_name": zone.name, "lat": zone.lat, "lon": zone.lon,
            "updated_at": now - timedelta(minutes=2), "source": source,
            "sources": {"weather": source, "aqi": source}, "metrics": metrics,
            "demand_estimated": False,
            "aqi_category": None if missing_aqi else aqi_category_doc(aqi),
            "risk_score": score, "risk_level": levels[min(3, int(score // 25))],
            "risk_factors": [{"rule": "aqi_over_100", "value": aqi, "points": 10}] if aqi > 100
            else [],
            "anomalies": [{"metric": "demand_mw", "value": 99.0, "zscore": 3.2,
                           "baseline_mean": 70.0}] if i == 3 else [],
            "open_alerts": 1 if i in (0, 5) else 0,
        })
    return docs


def city_latest_doc(city: City, now: datetime, zones: list[dict]) -> dict[str, Any]:
    aqi = [z["metrics"]["us_aqi"]["value"] for z in zones if z["metrics"]["us_aqi"]["value"]]
    worst = max(zones, key=lambda z: z["metrics"]["us_aqi"]["value"] or -1)
    return {"_id": city.city_id, "city_id": city.city_id, "updated_at": now - timedelta(minutes=2),
            "source": zones[0]["source"],
            "demand_mw": sum(z["metrics"]["demand_mw"]["value"] for z in zones),
            "demand_forecast_mw": sum(z["metrics"]["demand_forecast_mw"]["value"] for z in zones),
            "avg_aqi": sum(aqi) / len(aqi), "worst_aqi": max(aqi), "worst_aqi_zone":
            worst["zone_id"], "avg_congestion": 0.45, "open_incidents": 120, "incidents_24h": 400,
            "open_alerts": 3, "max_risk_score": max(z["risk_score"] for z in zones),
            "zones_reporting": len(zones), "data_age_s": 120}


def alert_docs(city: City, now: datetime) -> list[dict[str, Any]]:
    specs = [(0, "heat", "critical", "open"), (5, "air_quality", "warning", "open"),
             (1, "congestion", "info", "open"), (2, "demand_stress", "warning", "resolved")]
    docs = []
    for idx, kind, severity, status in specs:
        zone = city.zones[idx]
        opened = now - timedelta(minutes=30 + idx)
        alert_id = make_id(city.city_id, zone.zone_id, kind, opened)
        docs.append({"_id": alert_id, "alert_id": alert_id, "city_id": city.city_id,
                     "zone_id": zone.zone_id, "kind": kind, "severity": severity,
                     "status": status, "message": f"{kind.replace('_', ' ')} in {zone.name}",
                     "opened_at": opened, "updated_at": now - timedelta(minutes=1),
                     "resolved_at": now if status == "resolved" else None,
                     "inputs": {"temperature_c": {"value": 35.2, "observed_at": now - timedelta(
                         minutes=5), "age_s": 300}}, "rule": f"{kind}_rule"})
    return docs


def recommendation_docs(city: City, now: datetime) -> list[dict[str, Any]]:
    return [{"_id": make_id(city.city_id, city.zones[0].zone_id, "cooling_centres"),
             "city_id": city.city_id, "zone_id": city.zones[0].zone_id, "rule": "cooling_centres",
             "action": "Open cooling centres", "rationale": "Heat index above 32 °C for 3 h",
             "inputs": {}, "priority": 1, "issued_at": now - timedelta(minutes=3)},
            {"_id": make_id(city.city_id, city.zones[1].zone_id, "retime_signals"),
             "city_id": city.city_id, "zone_id": city.zones[1].zone_id, "rule": "retime_signals",
             "action": "Retime signals on main corridors", "rationale": "Congestion 0.8",
             "inputs": {}, "priority": 2, "issued_at": now - timedelta(minutes=3)}]


def feed_docs(city: City, now: datetime, per_topic: int = 12) -> list[dict[str, Any]]:
    docs = []
    for t, topic in enumerate(DATA_TOPICS):
        for k in range(per_topic):
            zone = city.zones[k % len(city.zones)]
            consumed = now - timedelta(minutes=k * 1.5 + t * 0.1)
            offset = 1000 + k
            docs.append({"_id": make_id(topic, 0, offset), "topic": topic, "partition": 0,
                         "offset": offset, "key": f"{city.city_id}:{zone.zone_id}",
                         "city_id": city.city_id, "zone_id": zone.zone_id,
                         "observed_at": consumed - timedelta(minutes=1), "consumed_at": consumed,
                         "summary": f"{topic} sample {k}", "source": "simulated"})
    return docs


def run_docs(city: City, now: datetime) -> list[dict[str, Any]]:
    docs = []

    def run(job: str, source: str | None, started: datetime, duration: float, ok: bool = True,
            error: str | None = None, records: int = 40) -> None:
        docs.append({"_id": make_id(job, city.city_id, started.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                                    source or "-"),
                     "job": job, "city_id": city.city_id, "source": source,
                     "provider": "simulated" if source else None, "started_at": started,
                     "finished_at": started + timedelta(seconds=duration), "duration_s": duration,
                     "ok": ok, "error": error, "attempts": 1, "requests": 1 if source else 0,
                     "records": records, "rejects": 0,
                     "scope_hour": scope_hour(city.city_id, started)})

    for k, kind in enumerate(("weather", "aqi", "traffic", "power", "incidents")):
        run("ingest", kind, now - timedelta(minutes=5 + k), 0.4 + k / 10)
        run("ingest", kind, now - timedelta(minutes=20 + k), 0.5)
    run("ingest", "power", now - timedelta(minutes=40), 3.0, ok=False,
        error="HTTPStatusError: 503 from eia")
    for h in range(4):
        run("precompute", None, now - timedelta(hours=h, minutes=10), 6.5 + h, records=120)
        run("process", None, now - timedelta(minutes=2 + 30 * h), 1.2)
    return docs


def spec_registry(city: City, model: str, now: datetime, m: int = 0) -> dict[str, Any]:
    """A model_registry document in the issue-12 shape (metrics contract, day-ahead backtest
    with by_horizon / by_hour / calibration / predictions / weekly; TFT importances nested by
    group with attention; the GNN's graph of the parent's subregions)."""
    trained = now - timedelta(days=2)
    days = [trained - timedelta(days=14 - d) for d in range(14)]
    hours = [d.replace(minute=0, second=0, microsecond=0) + timedelta(hours=h)
             for d in days for h in range(24)]
    actual = [5000 + 800 * np.sin(k / 24 * 2 * np.pi) for k in range(len(hours))]
    p50 = [a * (1.02 if k % 3 else 0.97) for k, a in enumerate(actual)]
    doc = {"_id": make_id(city.city_id, model), "model": model, "city_id": city.city_id,
           "version": f"20260101T000000Z-{model}", "trained_at": trained,
           "training_window": {"start": now - timedelta(days=92), "end": trained},
           "params": {"epochs": 3}, "artifact_path": f"artifacts/{city.city_id}/{model}",
           "checksum": "abc", "flavour": "keras" if model == "lstm" else "torch",
           "train_seconds": 12.5 + m, "zone_count": 11,
           "metrics": {"mape": 4.1 + m, "rmse": 120.5, "coverage_p10_p90": 78.0,
                       "baseline_mape": 7.9, "eia_df_mape": 5.2, "mape_same_points": 4.0 + m,
                       "naive24_mape": 6.3, "bias_mw": -12.0, "bias_pct": -0.2,
                       "pinball_mw": 40.2, "coverage_p10": 11.0, "coverage_p50": 52.0,
                       "coverage_p90": 88.0, "n_issuances": 14, "n_points": 336},
           "backtest": {
               "by_horizon": {"model": [4.0 + h / 24 for h in range(24)],
                              "naive168": [7.9] * 24, "naive24": [6.3] * 24,
                              "eia_df": [5.2] * 24},
               "by_hour": {"model": [4.0 + (h % 6) / 6 for h in range(24)],
                           "naive168": [7.9] * 24, "naive24": [6.3] * 24,
                           "eia_df": [5.2 if h else None for h in range(24)]},
               "calibration": [{"nominal": 10, "observed": 11.0},
                               {"nominal": 50, "observed": 52.0},
                               {"nominal": 90, "observed": 88.0},
                               {"nominal": 80, "observed": 78.0}],
               "predictions": {"issued_at": [h.replace(hour=15) - timedelta(days=1)
                                             for h in hours],
                               "hours": hours, "actual": actual, "p10": [v * 0.95 for v in p50],
                               "p50": p50, "p90": [v * 1.05 for v in p50],
                               "naive168": actual, "naive24": actual, "eia_df": actual},
               "weekly": [{"week_start": days[0], "model_mape": 4.3, "eia_df_mape": 5.0},
                          {"week_start": days[7], "model_mape": 3.9, "eia_df_mape": 5.4}]}}
    if model == "tft":
        doc["variable_importances"] = {
            "static": {"series": 0.7, "level": 0.3},
            "encoder": {"demand": 0.5, "temperature_c": 0.3, "hour_of_day": 0.2},
            "decoder": {"temperature_forecast_c": 0.6, "cooling_degree_h": 0.25,
                        "hour_of_day": 0.15}}
        doc["attention"] = [1 / 24] * 24
    if model == "gnn":
        names = series_names(city)
        points = series_points(city)
        doc["graph"] = {"nodes": [{"id": code, "name": names.get(code, code), "lat": lat,
                                   "lon": lon} for code, lat, lon in points],
                        # FerretDB stores no nested arrays: edges as dicts
                        "edges": [{"source": points[i][0], "target": points[i + 1][0],
                                   "km": 25.0} for i in range(len(points) - 1)]}
    return doc


def spec_scorecard(city: City, model: str, now: datetime, scored: bool, m: int = 0
                   ) -> dict[str, Any]:
    """A model_scorecard document in the issue-12 shape: scored, or only pending."""
    issued = (now - timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    card = {"_id": make_id(city.city_id, model), "city_id": city.city_id, "model": model,
            "window_days": 7, "updated_at": now - timedelta(minutes=30),
            "pending": [{"issued_at": issued, "model_version": f"20260101T000000Z-{model}"}],
            "scored": [], "issuances": 0, "points": 0,
            "next_score_at": now + timedelta(hours=20)}
    keys = ("mape", "rmse", "coverage_p10_p90", "baseline_mape", "eia_df_mape", "naive24_mape",
            "mape_same_points", "bias_mw", "skill_vs_baseline")
    card.update({k: None for k in keys})
    if scored:
        day = (now - timedelta(days=2)).date().isoformat()
        card.update({"issuances": 1, "points": 24, "mape": 4.5 + m, "rmse": 130.0,
                     "coverage_p10_p90": 79.2, "baseline_mape": 8.1, "eia_df_mape": 5.0,
                     "naive24_mape": 6.0, "mape_same_points": 4.4 + m, "bias_mw": 10.0,
                     "skill_vs_baseline": 0.44,
                     "scored": [{"issued_at": now - timedelta(days=3), "target_day": day,
                                 "mape": 4.5 + m, "eia_df_mape": 5.0, "baseline_mape": 8.1,
                                 "naive24_mape": 6.0, "points": 24}]})
    return card


def model_docs(city: City, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """model_outputs (zone estimates, the city series next 24 h and day-ahead), registry and
    scorecards for every model in the issue-12 shapes; the last model is scored only pending."""
    issued = now.replace(minute=0, second=0, microsecond=0)
    hours = [issued + timedelta(hours=h + 1) for h in range(24)]
    day_ahead = [issued + timedelta(hours=h + 14) for h in range(24)]
    own = series_ids(city)[0]
    outputs, registry, scorecards = [], [], []
    for m, model in enumerate(MODEL_NAMES):
        city_p50 = [round(6000 * (1 + 0.1 * np.sin(h / 24 * 2 * np.pi)) + m, 3)
                    for h in range(24)]
        common = {"city_id": city.city_id, "model": model, "issued_at": issued,
                  "model_version": f"20260101T000000Z-{model}", "horizon_hours": 24,
                  "interval": "conformal", "series": own}
        for kind, suffix, target in (("next-24h", "latest", hours),
                                     ("day-ahead", "day-ahead|latest", day_ahead)):
            outputs.append({"_id": f"{city.city_id}|{model}|city|{suffix}", **common,
                            "zone_id": "city", "kind": kind, "hours": target, "p50": city_p50,
                            "p10": [round(v * 0.93, 3) for v in city_p50],
                            "p90": [round(v * 1.07, 3) for v in city_p50]})
        for zone in city.zones:
            p50 = [round(v * zone.weight, 3) for v in city_p50]
            outputs.append({"_id": f"{city.city_id}|{model}|{zone.zone_id}|latest", **common,
                            "zone_id": zone.zone_id, "kind": "next-24h", "estimate": True,
                            "hours": hours, "p50": p50,
                            "p10": [round(v * 0.93, 3) for v in p50],
                            "p90": [round(v * 1.07, 3) for v in p50]})
        registry.append(spec_registry(city, model, now, m))
        scorecards.append(spec_scorecard(city, model, now, scored=m < len(MODEL_NAMES) - 1, m=m))
    return {C.MODEL_OUTPUTS: outputs, C.MODEL_REGISTRY: registry, C.MODEL_SCORECARD: scorecards}


def seed_city(db: Database, city: City, now: datetime, days: int = 3,
              with_models: bool = True) -> None:
    """Every read model a page of `city` reads, as of `now`."""
    zones = zone_latest_docs(city, now)
    insert_new(db, C.ZONE_LATEST, zones)
    insert_new(db, C.CITY_LATEST, [city_latest_doc(city, now, zones)])
    write_city_days(db, city_day_docs(city, now, days))
    insert_new(db, C.ALERTS, alert_docs(city, now))
    insert_new(db, C.RECOMMENDATIONS, recommendation_docs(city, now))
    feed = feed_docs(city, now)
    insert_new(db, C.LIVE_FEED, feed)
    update_feed_snapshots(db, feed, now)
    insert_new(db, C.PIPELINE_RUNS, run_docs(city, now))
    if with_models:
        for collection, docs in model_docs(city, now).items():
            insert_new(db, collection, docs)


def seed_shared(db: Database, now: datetime) -> None:
    """consumer_status and the DLQ (not per city)."""
    insert_new(db, C.CONSUMER_STATUS, [{
        "_id": "consumer", "updated_at": now - timedelta(seconds=10),
        "lag": {t: 3 * k for k, t in enumerate(DATA_TOPICS)}, "consumed_total": 5000,
        "dlq_total": 2, "rate_per_min": {t: 8.0 for t in DATA_TOPICS}}])
    insert_new(db, C.DLQ, [{"_id": make_id("weather_obs", 0, 7 + k), "topic": "weather_obs",
                            "key": "nyc:z01", "reason": f"missing field observed_at ({k})",
                            "value_snippet": "{}", "received_at": now - timedelta(minutes=k),
                            "stage": "consumer"} for k in range(2)])

