"""Offline-trained forecasting models (LSTM, TFT, GNN), their registry and precompute."""
