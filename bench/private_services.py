"""Private PostgreSQL, FerretDB and Kafka instances for tests, benchmarks and fault tests.

The shared services on 5432/27017/9092 belong to `make run`, so nothing here ever touches them.
A private instance runs the same binaries and the same configuration (PostgreSQL through
infra/postgres.py, FerretDB from .build/bin/ferretdb with its PostgreSQL handler, Kafka from
.build/kafka/libs in KRaft combined mode) on free ports with its data in a temporary folder, so
a test or benchmark sees an isolated copy of the embedded default and a fault test may SIGKILL,
stop and restart it freely. `handler="sqlite"` starts FerretDB on SQLite instead (the storage
benchmark's side-by-side comparison).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "infra"))
import postgres  # noqa: E402  (infra/postgres.py)
import services as infra  # noqa: E402  (infra/services.py: the project's own service commands)

KAFKA_TEMPLATE = ROOT / "infra" / "kafka" / "server.properties"


class PrivateServiceError(RuntimeError):
    """A private service could not be started; the message carries the tail of its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], bool], timeout_s: float, what: str,
             proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            raise PrivateServiceError(f"{what} exited with {proc.returncode}:\n"
                                      f"{infra.tail(log) if log else ''}")
        time.sleep(0.3)
    raise PrivateServiceError(f"{what} not ready within {timeout_s:.0f} s:\n"
                              f"{infra.tail(log) if log else ''}")


class _Process:
    """One service process in its own session, so signals reach it and its children only."""

    name = "service"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.log = workdir / f"{self.name}.log"
        self.proc: subprocess.Popen | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        raise NotImplementedError

    def start(self, timeout_s: float = 90.0) -> None:
        if self.running:
            return
        self.proc = infra.spawn(self.command(), self.log)
        wait_for(self.ready, timeout_s, f"private {self.name}", self.proc, self.log)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig: signal.Signals) -> None:
        if self.running:
            os.killpg(self.proc.pid, sig)

    def kill(self) -> None:
        """SIGKILL: a crash, no clean shutdown."""
        if self.running:
            self.signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM and wait (SIGKILL after timeout_s)."""
        if not self.running:
            return
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def pause(self) -> None:
        self.signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.signal(signal.SIGCONT)


class PrivatePostgres:
    """A PostgreSQL cluster of our own for FerretDB (throwaway: no fsync, for tests)."""

    name = "postgres"

    def __init__(self, workdir: Path, throwaway: bool) -> None:
        self.port = free_port()
        self.cluster = postgres.Cluster(workdir / "postgres", self.port,
                                        workdir / "postgres.log", throwaway=throwaway)

    @property
    def url(self) -> str:
        return self.cluster.url

    def start(self, timeout_s: float = 60.0) -> None:
        try:
            self.cluster.start(int(timeout_s))
        except postgres.PostgresError as exc:
            raise PrivateServiceError(str(exc)) from None

    @property
    def running(self) -> bool:
        return self.cluster.running()

    def stop(self, timeout_s: float = 30.0) -> None:
        self.cluster.stop()

    def kill(self) -> None:
        self.cluster.kill()


class PrivateFerret(_Process):
    name = "ferretdb"

    def __init__(self, workdir: Path, handler: str = "postgresql",
                 pg: PrivatePostgres | None = None) -> None:
        super().__init__(workdir)
        self.port = free_port()
        self.handler = handler
        self.pg = pg
        self.data = workdir / "ferretdb"

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/"

    def command(self) -> list[str]:
        if not infra.FERRET_BIN.exists():
            raise PrivateServiceError(f"{infra.FERRET_BIN} missing; run `make services` first")
        cmd = [str(infra.FERRET_BIN), "--listen-addr", f"127.0.0.1:{self.port}",
               "--handler", self.handler]
        if self.handler == "postgresql":
            return [*cmd, "--postgresql-url", self.pg.url]
        return [*cmd, "--data-dir", str(self.data)]

    def start(self, timeout_s: float = 90.0) -> None:
        if self.pg is not None and not self.pg.running:
            self.pg.start()
        super().start(timeout_s)

    def ready(self) -> bool:
        from pymongo import MongoClient

        client = MongoClient(self.uri, serverSelectionTimeoutMS=500)
        try:
            return client.admin.command("ping").get("ok") == 1
        except Exception:
            return False
        finally:
            client.close()


class PrivateKafka(_Process):
    name = "kafka"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.port = free_port()
        self.controller_port = free_port()
        self.logs = workdir / "kafka-logs"
        self.conf = workdir / "server.properties"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def configure(self) -> None:
        """The repo's template with this instance's ports and log.dirs, formatted once."""
        if not infra.KAFKA_LIBS.exists():
            raise PrivateServiceError(f"{infra.KAFKA_LIBS} missing; run `make services` first")
        lines = []
        for line in KAFKA_TEMPLATE.read_text().splitlines():
            line = line.replace("127.0.0.1:9093", f"127.0.0.1:{self.controller_port}")
            line = line.replace("127.0.0.1:9092", f"127.0.0.1:{self.port}")
            lines.append(line)
        lines.append(f"log.dirs={self.logs}")
        self.conf.write_text("\n".join(lines) + "\n")
        if (self.logs / "meta.properties").exists():
            return
        uuid = subprocess.run(infra.kafka_java("kafka.tools.StorageTool", "random-uuid"),
                              capture_output=True, text=True, check=True).stdout.split()[-1]
        proc = subprocess.run(infra.kafka_java("kafka.tools.StorageTool", "format", "--standalone",
                                               "-t", uuid, "-c", str(self.conf)),
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise PrivateServiceError(f"kafka storage format failed: {proc.stderr[-2000:]}")

    def command(self) -> list[str]:
        return infra.kafka_java("kafka.Kafka", str(self.conf))

    def start(self, timeout_s: float = 120.0) -> None:
        self.configure()
        super().start(timeout_s)

    def ready(self) -> bool:
        if not infra.port_open(("127.0.0.1", self.port)):
            return False
        try:
            from confluent_kafka.admin import AdminClient

            admin = AdminClient({"bootstrap.servers": self.bootstrap, "socket.timeout.ms": 2000,
                                 "log_level": 0})
            return len(admin.list_topics(timeout=2).brokers) > 0
        except Exception:
            return False


class PrivateServices:
    """A PostgreSQL, a FerretDB and a Kafka of our own, in a temporary folder removed on close.

    `throwaway` clusters skip fsync (tests); benchmarks keep the embedded default's settings.
    """

    def __init__(self, prefix: str = "citylive-private-", handler: str = "postgresql",
                 throwaway: bool = True, kafka: bool = True) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=prefix))
        self.workdir.chmod(0o755)  # the postgres user traverses it (infra/postgres.py)
        self.pg = PrivatePostgres(self.workdir, throwaway) if handler == "postgresql" else None
        self.ferret = PrivateFerret(self.workdir, handler, self.pg)
        self.kafka = PrivateKafka(self.workdir) if kafka else None

    def start(self) -> PrivateServices:
        try:
            self.ferret.start()
            if self.kafka is not None:
                self.kafka.start()
        except Exception:
            self.close()
            raise
        return self

    def env(self) -> dict[str, str]:
        """Environment for a subprocess that should use these instances."""
        env = {"MONGO_URI": self.ferret.uri}
        if self.kafka is not None:
            env["KAFKA_BOOTSTRAP_SERVERS"] = self.kafka.bootstrap
        return env

    def close(self) -> None:
        for service in (self.kafka, self.ferret, self.pg):
            if service is None:
                continue
            try:
                service.stop()
            except Exception as exc:  # noqa: BLE001 - closing must reach every service
                print(f"[private services] stopping {service.name} failed: {exc}")
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> PrivateServices:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.close()
