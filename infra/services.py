"""Start, health-check and stop the local PostgreSQL, FerretDB and Kafka (the embedded default).

    python infra/services.py start|stop|status|build

`build` only installs and builds (PostgreSQL package, FerretDB binary, Kafka jars): the tests
and benchmarks run private instances of their own (bench/private_services.py).

MongoDB wire: FerretDB 1.24 with its PostgreSQL handler, on a PostgreSQL cluster of our own
(infra/postgres.py: 127.0.0.1:5432, data in data/postgres). FERRETDB_POSTGRESQL_URL points
FerretDB at an existing PostgreSQL instead (then no cluster is started here).

Idempotent: a service that already answers is reused; `stop` stops only what `start` started
(pid files under data/run/). When MONGO_URI / KAFKA_BOOTSTRAP_SERVERS point elsewhere, that
service is left alone. A service that fails to start prints the tail of its log and a reason.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "infra"))
import postgres  # noqa: E402  (infra/postgres.py)

DATA = ROOT / "data"
RUN = DATA / "run"
LOGS = DATA / "logs"
BUILD = ROOT / ".build"
FERRET_BIN = BUILD / "bin" / "ferretdb"
KAFKA_LIBS = BUILD / "kafka" / "libs"
PG_PORT = 5432
MONGO_ADDR = ("127.0.0.1", 27017)
KAFKA_ADDR = ("127.0.0.1", 9092)
DEFAULT_MONGO_URI = "mongodb://127.0.0.1:27017/"
DEFAULT_KAFKA = "127.0.0.1:9092"


class ServiceError(Exception):
    """A service could not be built or started; the message says why."""


def say(msg: str) -> None:
    print(f"[services] {msg}", flush=True)


def port_open(addr: tuple[str, int]) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(addr) == 0


def tail(path: Path, lines: int = 25) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def newer(target: Path, *sources: Path) -> bool:
    return target.exists() and all(target.stat().st_mtime >= s.stat().st_mtime for s in sources)


def run(cmd: list[str], cwd: Path, what: str) -> None:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ServiceError(f"{what} failed (exit {proc.returncode}):\n"
                           f"{(proc.stdout + proc.stderr)[-3000:]}")


# ---- FerretDB ----------------------------------------------------------------------------
def build_ferretdb() -> None:
    src = ROOT / "infra" / "ferretdb"
    if newer(FERRET_BIN, src / "main.go", src / "go.mod", src / "go.sum"):
        return
    if not shutil.which("go"):
        raise ServiceError("Go is not installed; it is needed to build FerretDB")
    say("building FerretDB (go build, first time only) ...")
    # module mode stays read-only: the committed go.sum verifies every downloaded module
    run(["go", "build", "-o", str(FERRET_BIN), "."], src, "go build of FerretDB")


def mongo_ping() -> bool:
    try:
        from pymongo import MongoClient

        client = MongoClient(DEFAULT_MONGO_URI, serverSelectionTimeoutMS=1000)
        try:
            return client.admin.command("ping").get("ok") == 1
        finally:
            client.close()
    except Exception:
        return False


def pg_home() -> Path:
    """Where the cluster lives: data/postgres, unless the server's user cannot reach this
    checkout (a clone under root's private home, say); then a folder of its own elsewhere."""
    if os.geteuid() != 0 or postgres.can_traverse(DATA):
        return DATA
    digest = hashlib.sha1(str(ROOT).encode()).hexdigest()[:10]
    return Path("/var/lib/postgresql") / f"citylive-{digest}"


def local_postgres() -> postgres.Cluster:
    home = pg_home()
    return postgres.Cluster(home / "postgres", PG_PORT, home / "postgres.log")


def start_postgres() -> str:
    """FerretDB's PostgreSQL URL: FERRETDB_POSTGRESQL_URL, or our own cluster, started."""
    external = os.environ.get("FERRETDB_POSTGRESQL_URL")
    if external:
        postgres.install_sql(external)
        say("FerretDB uses the PostgreSQL at FERRETDB_POSTGRESQL_URL (not started here)")
        return external
    cluster = local_postgres()
    if not cluster.running() and port_open(("127.0.0.1", PG_PORT)):
        raise ServiceError(f"127.0.0.1:{PG_PORT} is taken by another PostgreSQL; stop it, or "
                           "set FERRETDB_POSTGRESQL_URL to use it")
    try:
        cluster.start()
    except postgres.PostgresError as exc:
        raise ServiceError(str(exc)) from None
    say(f"PostgreSQL up on 127.0.0.1:{PG_PORT} (data {cluster.data})")
    return cluster.url


def start_ferretdb() -> None:
    pg_url = start_postgres()
    if mongo_ping():
        say("FerretDB already answering on 127.0.0.1:27017 (reused)")
        return
    if port_open(MONGO_ADDR):
        raise ServiceError("127.0.0.1:27017 is taken by something that does not answer ping")
    build_ferretdb()
    log = LOGS / "ferretdb.log"
    proc = spawn([str(FERRET_BIN), "--listen-addr", "127.0.0.1:27017",
                  "--handler", "postgresql", "--postgresql-url", pg_url], log)
    write_pid("ferretdb", proc.pid)
    wait_until(mongo_ping, 30, "FerretDB", log, proc)
    say(f"FerretDB (PostgreSQL handler) up on mongodb://127.0.0.1:27017 (pid {proc.pid})")


# ---- Kafka -------------------------------------------------------------------------------
def fetch_kafka() -> None:
    pom = ROOT / "infra" / "kafka" / "pom.xml"
    marker = KAFKA_LIBS / ".resolved"
    if newer(marker, pom):
        return
    if not shutil.which("mvn"):
        raise ServiceError("Maven (mvn) is not installed; it is needed to fetch the Kafka jars")
    say("resolving Kafka jars from Maven Central (first time only) ...")
    if KAFKA_LIBS.exists():
        shutil.rmtree(KAFKA_LIBS)
    run(["mvn", "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
         f"-DoutputDirectory={KAFKA_LIBS}", "-DincludeScope=runtime"], ROOT, "mvn")
    marker.touch()


def kafka_java(main: str, *args: str) -> list[str]:
    return ["java", "-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=50",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={ROOT / 'infra' / 'kafka' / 'log4j2.yaml'}",
            "-cp", f"{KAFKA_LIBS}/*", main, *args]


def kafka_config() -> Path:
    """The server.properties in use: the repo's template plus this checkout's log.dirs."""
    conf = DATA / "kafka" / "server.properties"
    conf.parent.mkdir(parents=True, exist_ok=True)
    template = (ROOT / "infra" / "kafka" / "server.properties").read_text()
    conf.write_text(template + f"\nlog.dirs={DATA / 'kafka' / 'logs'}\n")
    return conf


def format_kafka(conf: Path) -> None:
    if (DATA / "kafka" / "logs" / "meta.properties").exists():
        return
    proc = subprocess.run(kafka_java("kafka.tools.StorageTool", "random-uuid"),
                          capture_output=True, text=True)
    cluster_id = proc.stdout.strip().splitlines()[-1] if proc.returncode == 0 else ""
    if not cluster_id:
        raise ServiceError(f"kafka random-uuid failed: {proc.stderr[-2000:]}")
    run(kafka_java("kafka.tools.StorageTool", "format", "--standalone", "-t", cluster_id,
                   "-c", str(conf)), ROOT, "Kafka storage format")


def kafka_ready() -> bool:
    if not port_open(KAFKA_ADDR):
        return False
    try:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": DEFAULT_KAFKA, "socket.timeout.ms": 2000,
                            "log_level": 0})
        return len(admin.list_topics(timeout=2).brokers) > 0
    except Exception:
        return False


def start_kafka() -> None:
    if port_open(KAFKA_ADDR) and kafka_ready():
        say("Kafka already answering on 127.0.0.1:9092 (reused)")
        return
    if not shutil.which("java"):
        raise ServiceError("Java 17 is not installed; it is needed to run Kafka")
    fetch_kafka()
    conf = kafka_config()
    format_kafka(conf)
    log = LOGS / "kafka.log"
    proc = spawn(kafka_java("kafka.Kafka", str(conf)), log)
    write_pid("kafka", proc.pid)
    wait_until(kafka_ready, 90, "Kafka", log, proc)
    say(f"Kafka up on 127.0.0.1:9092 (pid {proc.pid}, data {DATA / 'kafka'})")


# ---- process plumbing --------------------------------------------------------------------
def spawn(cmd: list[str], log: Path) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)


def write_pid(name: str, pid: int) -> None:
    RUN.mkdir(parents=True, exist_ok=True)
    (RUN / f"{name}.pid").write_text(str(pid))


def wait_until(check, timeout_s: float, name: str, log: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if proc.poll() is not None:
            raise ServiceError(f"{name} exited with code {proc.returncode} while starting. "
                               f"Last lines of {log}:\n{tail(log)}")
        time.sleep(0.5)
    raise ServiceError(f"{name} did not answer within {timeout_s:.0f} s. "
                       f"Last lines of {log}:\n{tail(log)}")


def stop_one(name: str, timeout_s: float = 20.0) -> None:
    pid_file = RUN / f"{name}.pid"
    if not pid_file.exists():
        say(f"{name}: not started by us (nothing to stop)")
        return
    pid = int(pid_file.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink()
        say(f"{name}: was not running")
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.3)
    else:
        os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    say(f"{name}: stopped (pid {pid})")


def main(argv: list[str]) -> int:
    action = argv[1] if len(argv) > 1 else "start"
    local_mongo = os.environ.get("MONGO_URI", DEFAULT_MONGO_URI) == DEFAULT_MONGO_URI
    local_kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_KAFKA) == DEFAULT_KAFKA
    try:
        if action == "start":
            if local_mongo:
                start_ferretdb()
            else:
                say("MONGO_URI points elsewhere: not starting FerretDB")
            if local_kafka:
                start_kafka()
            else:
                say("KAFKA_BOOTSTRAP_SERVERS points elsewhere: not starting Kafka")
        elif action == "build":
            # what the private instances of tests and benchmarks need, nothing started
            postgres.ensure_installed()
            build_ferretdb()
            fetch_kafka()
            say("PostgreSQL installed, FerretDB built, Kafka jars resolved")
        elif action == "stop":
            stop_one("kafka")
            stop_one("ferretdb")
            if not os.environ.get("FERRETDB_POSTGRESQL_URL"):
                local_postgres().stop()
                say("postgres: stopped")
        elif action == "clean":
            if not os.environ.get("FERRETDB_POSTGRESQL_URL"):
                local_postgres().stop()
            if pg_home() != DATA:
                shutil.rmtree(pg_home(), ignore_errors=True)
            shutil.rmtree(DATA, ignore_errors=True)
            say("data removed")
        elif action == "status":
            pg = "external" if os.environ.get("FERRETDB_POSTGRESQL_URL") else (
                "up" if local_postgres().ready() else "down")
            say(f"PostgreSQL: {pg}; FerretDB: {'up' if mongo_ping() else 'down'}; "
                f"Kafka: {'up' if kafka_ready() else 'down'}")
        else:
            say(f"unknown action {action!r}; use start, stop, status or build")
            return 2
    except (ServiceError, postgres.PostgresError) as exc:
        say(f"ERROR: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
