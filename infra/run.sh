#!/usr/bin/env bash
# `make run`: the sidecar (ingest -> Kafka -> Mongo, processing, precompute; on first start it runs
# a first cycle, backfills history and trains models once, offline) in the background, and the
# Streamlit UI on 8501 in the foreground. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
CITY=${1:-nyc}
mkdir -p data/logs
export CITYLIVE_CITIES=${CITYLIVE_CITIES:-$CITY}
.venv/bin/python -m pipeline.scheduler >>data/logs/sidecar.log 2>&1 &
SIDECAR=$!
cleanup() {
  kill "$SIDECAR" 2>/dev/null || true
  wait "$SIDECAR" 2>/dev/null || true
  echo "sidecar stopped; services keep running (make stop to stop them)"
}
trap cleanup EXIT INT TERM
echo "sidecar running (pid $SIDECAR, log data/logs/sidecar.log) for: $CITYLIVE_CITIES"
echo "City Live UI: http://localhost:8501"
.venv/bin/streamlit run app.py --server.port 8501 --server.headless true
