"""The dedicated inference service (models/serving.py) as a local process, and its benchmark:
the cost of one precompute batch (3 models x every zone of a city) in-process vs through the
service, and the sidecar's memory with and without it (docs/architecture.md §14).

`InferenceService` is also what the integration test uses: a real `python -m models.serving`
on free ports, ready when MLServer says the model is ready.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.private_services import free_port

ROOT = Path(__file__).resolve().parent.parent
NAME = "inference_service"


class InferenceService:
    """`python -m models.serving` serving `artifacts_dir`; a context manager giving its URL."""

    def __init__(self, artifacts_dir: str, log_path: Path, env: dict[str, str] | None = None
                 ) -> None:
        self.artifacts_dir, self.log_path = artifacts_dir, log_path
        self.env = {**os.environ, **(env or {}), "CITYLIVE_ARTIFACTS_DIR": artifacts_dir,
                    "PYTHONUNBUFFERED": "1"}
        self.port, self.grpc_port = free_port(), free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/v2/models/citylive-forecast/ready",
                             timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self, timeout_s: float = 180) -> InferenceService:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "models.serving", "--port", str(self.port),
                 "--grpc-port", str(self.grpc_port)], cwd=ROOT, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"inference service exited: {self.log()}")
            if self.ready():
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"inference service not ready in {timeout_s:.0f} s: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]

    def rss_mb(self) -> float | None:
        import psutil

        if self.proc is None or self.proc.poll() is not None:
            return None
        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def __enter__(self) -> InferenceService:
        return self.start()

    def __exit__(self, *_exc: Any) -> None:
        self.stop()


MEASURE = """
import json, resource, sys, time
from datetime import datetime
from core.catalog import get_city
from core.settings import Settings
from core.storage import get_db
from models.precompute import precompute_city
settings = Settings()
db = get_db(settings)
now = datetime.fromisoformat(sys.argv[1])
city = get_city(sys.argv[2])
times = []
for _ in range(int(sys.argv[3])):
    t0 = time.perf_counter()
    summary = precompute_city(db, settings, city, now)
    times.append(time.perf_counter() - t0)
print(json.dumps({"times": times, "ok": summary["ok"], "messages": summary["messages"],
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "ml_frameworks": sorted(m for m in ("tensorflow", "torch") if m in sys.modules),
                  "zones": max(r.get("zones", 0) for r in summary["models"].values())}))
"""


def precompute_process(mc: Any, runs: int, inference_url: str | None) -> dict[str, Any]:
    """Precompute `runs` times in a fresh process (a sidecar's view): times, memory, imports."""
    import json

    env = {**os.environ, "MONGO_URI": mc.settings.mongo_uri.get_secret_value(),
           "MONGO_DB": mc.settings.mongo_db,
           "CITYLIVE_ARTIFACTS_DIR": mc.settings.citylive_artifacts_dir}
    env.pop("INFERENCE_URL", None)
    if inference_url:
        env["INFERENCE_URL"] = inference_url
    out = subprocess.run([sys.executable, "-c", MEASURE, mc.now.isoformat(), mc.city.city_id,
                          str(runs)], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=900)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(env: dict[str, str], quick: bool = False) -> list[Any]:
    import tempfile

    from bench.common import Figure, median
    from bench.model_setup import model_city

    runs = 3 if quick else 6
    with model_city(env) as mc, tempfile.TemporaryDirectory() as tmp, \
            InferenceService(mc.settings.citylive_artifacts_dir, Path(tmp) / "inference.log",
                             env={k: v for k, v in env.items() if k != "BENCH_PRIVATE"}
                             ) as service:
        local = precompute_process(mc, runs, None)
        remote = precompute_process(mc, runs, service.url)
        service_rss = service.rss_mb()
    if not (local["ok"] and remote["ok"]):
        raise RuntimeError(f"precompute failed: {local['messages']} / {remote['messages']}")
    warm_local, warm_remote = median(local["times"][1:]), median(remote["times"][1:])
    batch = f"3 models x {local['zones']} zones"
    return [
        Figure(f"precompute batch ({batch}), in-process, warm", warm_local, "s",
               runs=local["times"][1:], note=f"first run {local['times'][0]:.2f} s (loads "
                                              f"artifacts); {mc.artifacts}"),
        Figure(f"precompute batch ({batch}), through the inference service, warm", warm_remote,
               "s", runs=remote["times"][1:],
               note=f"first run {remote['times'][0]:.2f} s; KServe v2 JSON over HTTP on "
                    "127.0.0.1 (MLServer 1.7)"),
        Figure("inference service / in-process batch time", warm_remote / warm_local, "x"),
        Figure("sidecar-side peak memory, in-process precompute", local["max_rss_mb"], "MB",
               note=f"imports {local['ml_frameworks']}"),
        Figure("sidecar-side peak memory, precompute through the service", remote["max_rss_mb"],
               "MB", note=f"imports {remote['ml_frameworks'] or 'no ML framework'}; the service "
                          f"process itself: {service_rss:.0f} MB" if service_rss else ""),
        Figure("UI memory with / without the service", None, "",
               note="unchanged by construction: the UI never imports tensorflow or torch "
                    "(tests/ui/test_no_ml_imports.py) and reads model_outputs either way"),
    ]
