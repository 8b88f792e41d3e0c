"""ui.hexes, charts.zone_map and the map-click parser: zone hexagons, no services needed."""

from __future__ import annotations

import h3
import pandas as pd
import plotly.graph_objects as go
import pytest

from core.catalog import load_catalog
from ui.charts import zone_map
from ui.hexes import cell_ring, zone_cells, zone_geojson
from ui.loaders import zones_frame
from ui.selection import zone_from_selection


def curated(city_id: str = "nyc") -> pd.DataFrame:
    zones = load_catalog()[city_id].zones
    return zones_frame([z.model_dump(include={"zone_id", "name", "lat", "lon"}) for z in zones])


def generated() -> pd.DataFrame:
    """Three zones carrying their own res-7 cells, around a centre in Lisbon."""
    centre = h3.latlng_to_cell(38.72, -9.14, 7)
    cells = sorted(h3.grid_disk(centre, 1))[:3]
    docs = [{"zone_id": f"g{i}", "name": f"Zone {i}", "lat": h3.cell_to_latlng(c)[0],
             "lon": h3.cell_to_latlng(c)[1], "h3": c} for i, c in enumerate(cells)]
    return zones_frame(docs)


def with_values(zones: pd.DataFrame) -> pd.DataFrame:
    points = zones.copy()
    points["value"] = [None if i == 0 else 40.0 + 30 * i for i in range(len(points))]
    points["risk_level"] = ["low", "moderate", "high", "critical"] * (len(points) // 4) + [
        "low"] * (len(points) % 4)
    return points


def test_zones_frame_has_h3_column_none_when_absent() -> None:
    frame = zones_frame([{"zone_id": "b", "name": "B", "lat": 1.0, "lon": 2.0},
                         {"zone_id": "a", "name": "A", "lat": 1.0, "lon": 2.1,
                          "h3": "872a1072bffffff"}])
    assert list(frame.columns) == ["zone_id", "name", "lat", "lon", "h3"]
    assert frame["h3"].tolist() == ["872a1072bffffff", None]


@pytest.mark.parametrize("zones", [curated("nyc"), curated("sf"), generated()],
                         ids=["nyc", "sf", "generated"])
def test_one_closed_hexagon_per_zone_with_zone_ids(zones: pd.DataFrame) -> None:
    geojson = zone_geojson(zones)
    assert geojson["type"] == "FeatureCollection"
    assert [f["id"] for f in geojson["features"]] == zones["zone_id"].tolist()
    for feature in geojson["features"]:
        assert feature["geometry"]["type"] == "Polygon"
        (ring,) = feature["geometry"]["coordinates"]
        assert ring[0] == ring[-1]
        assert len({tuple(p) for p in ring[:-1]}) == len(ring) - 1 in (5, 6)
        lng, lat = ring[0]  # GeoJSON order: longitude first
        assert abs(lng - zones.set_index("zone_id").loc[feature["id"], "lon"]) < 0.1
        assert abs(lat - zones.set_index("zone_id").loc[feature["id"], "lat"]) < 0.1


def test_generated_zones_keep_their_own_cells() -> None:
    zones = generated()
    assert zone_cells(zones) == dict(zip(zones["zone_id"], zones["h3"], strict=True))


@pytest.mark.parametrize("city_id", ["nyc", "chicago", "sf", "boston"])
def test_curated_zones_get_unique_cells_of_their_centres(city_id: str) -> None:
    zones = curated(city_id)
    cells = zone_cells(zones)
    assert len(set(cells.values())) == len(zones)
    assert len({h3.get_resolution(c) for c in cells.values()}) == 1
    for zone in zones.itertuples():
        assert h3.latlng_to_cell(zone.lat, zone.lon, h3.get_resolution(cells[zone.zone_id])) \
            == cells[zone.zone_id]


def test_two_zones_in_one_cell_go_one_resolution_finer() -> None:
    zones = zones_frame([{"zone_id": "a", "name": "A", "lat": 40.0, "lon": -74.0},
                         {"zone_id": "b", "name": "B", "lat": 40.02, "lon": -74.0},
                         {"zone_id": "c", "name": "C", "lat": 40.0201, "lon": -74.0}])
    cells = zone_cells(zones)
    assert len(set(cells.values())) == 3


def test_antimeridian_ring_is_continuous() -> None:
    cell = next(c for c in h3.grid_disk(h3.latlng_to_cell(-17.0, 180.0, 4), 2)
                if {lng > 0 for _, lng in h3.cell_to_boundary(c)} == {True, False}
                and all(abs(lng) > 170 for _, lng in h3.cell_to_boundary(c)))
    ring = cell_ring(cell)
    lons = [p[0] for p in ring]
    assert max(lons) - min(lons) < 180
    zones = zones_frame([{"zone_id": "fiji", "name": "Taveuni", "lat": -17.0, "lon": 180.0,
                          "h3": cell}])
    (feature,) = zone_geojson(zones)["features"]
    lons = [p[0] for p in feature["geometry"]["coordinates"][0]]
    assert max(lons) - min(lons) < 180


def test_city_across_the_antimeridian_is_one_continuous_shape() -> None:
    zones = zones_frame([{"zone_id": "w", "name": "W", "lat": -16.8, "lon": 179.9},
                         {"zone_id": "e", "name": "E", "lat": -16.8, "lon": -179.9}])
    lons = [p[0] for f in zone_geojson(zones)["features"] for p in f["geometry"]["coordinates"][0]]
    assert max(lons) - min(lons) < 1


def choropleths(fig: go.Figure) -> list[go.Choroplethmap]:
    return [t for t in fig.data if isinstance(t, go.Choroplethmap)]


@pytest.mark.parametrize("metric", ["demand_mw", "us_aqi", "risk_score"])
def test_zone_map_fills_hexagons_of_every_zone(metric: str) -> None:
    points = with_values(curated("nyc"))
    fig = zone_map(points, metric, None, tiles=True)
    traces = choropleths(fig)
    assert traces and all(t.featureidkey == "id" for t in traces)
    located = sorted(z for t in traces for z in t.locations)
    assert located == sorted(points["zone_id"])
    for trace in traces:
        assert {f["id"] for f in trace.geojson["features"]} == set(trace.locations)
    assert fig.layout.map.style == "white-bg"  # inline style: nothing to fetch before drawing
    (basemap,) = fig.layout.map.layers
    assert basemap.sourcetype == "raster" and basemap.below == "traces"
    assert all("{z}/{x}/{y}" in url for url in basemap.source)
    assert not [t for t in fig.data if isinstance(t, go.Scattermap)]  # nothing selected


def test_zone_map_without_tiles_uses_white_bg_and_outlines_the_selection() -> None:
    points = with_values(curated("sf"))
    chosen = points["zone_id"][2]
    fig = zone_map(points, "congestion", chosen, tiles=False)
    assert fig.layout.map.style == "white-bg" and not fig.layout.map.layers
    (outline,) = [t for t in fig.data if isinstance(t, go.Scattermap)]
    ring = zone_geojson(points)["features"][2]["geometry"]["coordinates"][0]
    assert list(outline.lon) == [p[0] for p in ring] and outline.hoverinfo == "skip"
    west, east = min(outline.lon), max(outline.lon)
    assert fig.layout.map.zoom > 9 and west - 0.5 < fig.layout.map.center.lon < east + 0.5


def test_zone_map_hover_names_the_zone_and_its_value_with_unit() -> None:
    points = with_values(curated("nyc"))
    fig = zone_map(points, "congestion", None, tiles=False)
    filled = next(t for t in choropleths(fig) if t.name != "no data")
    assert "customdata[0]" in filled.hovertemplate and "Congestion" in filled.hovertemplate
    row = list(filled.locations).index(points["zone_id"][1])
    assert list(filled.customdata[row][:2]) == [points["name"][1], "70 %"]
    missing = next(t for t in choropleths(fig) if t.name == "no data")
    assert list(missing.locations) == [points["zone_id"][0]]
    assert missing.customdata[0][1] == "no data"


def test_zone_map_of_no_zones_is_an_empty_map() -> None:
    empty = with_values(zones_frame([]))
    fig = zone_map(empty, "us_aqi", None, tiles=False)
    assert not choropleths(fig) and fig.layout.map.style == "white-bg"


ZONES = {"z01", "z02"}


@pytest.mark.parametrize(("event", "expected"), [
    (None, None),
    ({}, None),
    ({"selection": {"points": [], "point_indices": [], "box": [], "lasso": []}}, None),
    ({"selection": {"points": [{"location": "z99", "curve_number": 0}]}}, None),
    ({"selection": {"points": [{"lon": -74.0, "lat": 40.7, "curve_number": 3}]}}, None),
    ({"selection": {"points": [{"location": "z02", "z": 42, "point_index": 1}]}}, "z02"),
    ({"selection": {"points": [{"location": "z99"}, {"location": "z01"}]}}, "z01"),
    ({"selection": {"points": [{"location": 5}]}}, None),
    ({"selection": None}, None),
])
def test_zone_from_selection(event, expected) -> None:
    assert zone_from_selection(event, ZONES) == expected


def test_zone_from_selection_reads_streamlits_own_event_object() -> None:
    """What st.plotly_chart(on_select="rerun") returns: the widget value, deserialized."""
    from streamlit.elements.plotly_chart import PlotlyChartSelectionSerde

    serde = PlotlyChartSelectionSerde()
    clicked = serde.deserialize('{"selection": {"points": [{"curve_number": 1, '
                                '"point_number": 0, "point_index": 0, "location": "z01", '
                                '"z": 1}], "point_indices": [0], "box": [], "lasso": []}}')
    assert zone_from_selection(clicked, ZONES) == "z01"
    assert zone_from_selection(serde.deserialize(None), ZONES) is None
