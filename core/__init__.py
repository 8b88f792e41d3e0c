"""The ground floor of City Live: settings, storage, ids, catalog, geo, time helpers and the
shared vocabulary (topics, collections, source kinds, model names, units, AQI categories).

Every other package imports downward into core; core imports nothing of City Live above it.
The layering is written down in docs/architecture.md and checked by tests/unit/test_layers.py.
"""
