"""Shared UI code for the Streamlit pages: cached Mongo loaders, city/zone state, widgets."""
