"""Run every benchmark, write bench/results/<name>.json and print one table.

    python -m bench.run_all                 # all of them (make bench)
    python -m bench.run_all --only consumer_throughput --quick

By default the benchmarks run on a private FerretDB and Kafka (same binaries and configuration
as `make services`, on free ports, data in a temp folder), so they neither disturb nor are
disturbed by the shared instances on 27017/9092. `--shared` uses MONGO_URI /
KAFKA_BOOTSTRAP_SERVERS (default: the shared local services) instead, with private
citylive_bench_* databases and consumer groups either way.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

from bench.common import MISS, NA, Figure, fmt

RESULTS = Path(__file__).resolve().parent / "results"
MODULES = ("ingest_requests", "city_pick", "add_city", "model_inference", "inference_service",
           "consumer_throughput",
           "processing_scale", "pages", "storage_volume", "sidecars", "forecast_quality")


def run_module(name: str, env: dict[str, str], quick: bool) -> tuple[list[Figure], float]:
    """One module's figures; a crash becomes an 'error' figure with its reason, never hidden."""
    t0 = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{name}")
        figures = module.run(env, quick=quick)
    except Exception as exc:
        tb = traceback.format_exc(limit=3)
        figures = [Figure(f"{name}: benchmark failed", None, verdict="error",
                          note=f"{type(exc).__name__}: {exc}"[:300], extra={"traceback": tb})]
    return figures, time.perf_counter() - t0


def write_result(name: str, figures: list[Figure], seconds: float, env: dict[str, str]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    doc = {"benchmark": name, "measured_at": datetime.now(UTC).isoformat(),
           "seconds": round(seconds, 1),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "platform": platform.platform()},
           "services": "private" if env.get("BENCH_PRIVATE") else "shared",
           "figures": [f.as_dict() for f in figures]}
    path.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    return path


def table(rows: list[tuple[str, Figure]]) -> str:
    head = ("figure", "value", "budget", "verdict", "note")
    lines = [[f.figure, fmt(f.value, f.unit), f.budget or "", f.verdict, f.note[:90]]
             for _name, f in rows]
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
              for i, h in enumerate(head)]
    widths[-1] = min(widths[-1], 90)
    out = ["| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |",
           "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) + " |"
            for line in lines]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run_all", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", action="append", choices=MODULES, help="repeatable")
    parser.add_argument("--quick", action="store_true", help="fewer runs (a smoke test)")
    parser.add_argument("--shared", action="store_true",
                        help="use MONGO_URI/KAFKA_BOOTSTRAP_SERVERS instead of private instances")
    args = parser.parse_args(argv)
    names = args.only or list(MODULES)
    private = None
    if args.shared:
        env = {k: os.environ[k] for k in ("MONGO_URI", "KAFKA_BOOTSTRAP_SERVERS")
               if k in os.environ}
    else:
        from bench.private_services import PrivateServices

        print("[bench] starting a private FerretDB and Kafka ...", flush=True)
        private = PrivateServices(prefix="citylive-bench-", throwaway=False).start()
        env = {**private.env(), "BENCH_PRIVATE": "1"}
    rows: list[tuple[str, Figure]] = []
    try:
        for name in names:
            print(f"[bench] {name} ...", flush=True)
            figures, seconds = run_module(name, env, args.quick)
            path = write_result(name, figures, seconds, env)
            print(f"[bench] {name}: {len(figures)} figure(s) in {seconds:.0f} s -> {path}",
                  flush=True)
            rows += [(name, f) for f in figures]
    finally:
        if private is not None:
            private.close()
    print()
    print(table(rows))
    missed = [f.figure for _n, f in rows if f.verdict in (MISS, "error")]
    unavailable = [f.figure for _n, f in rows if f.verdict == NA]
    print(f"\n{len(rows)} figures; {len(missed)} missed their budget or failed; "
          f"{len(unavailable)} not available.")
    # a benchmark must be able to fail: a missed budget, an error or a figure that could not
    # be measured makes `make bench` exit non-zero
    return 1 if missed or unavailable else 0


if __name__ == "__main__":
    sys.exit(main())
