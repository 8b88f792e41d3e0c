"""A local PostgreSQL cluster for FerretDB: install, initdb, configure, start, stop.

Used by infra/services.py (the embedded default on 127.0.0.1:5432, data in data/postgres) and
by bench/private_services.py (private clusters on free ports for tests, benchmarks and fault
tests). PostgreSQL refuses to run as root, so when this runs as root (CI does) the cluster
belongs to the `postgres` user that Debian's package creates, and every server command runs
through `runuser -u postgres`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SQL = ROOT / "infra" / "postgres" / "citylive.sql"
RUN_AS = "postgres"  # the server's user when we are root
SUPERUSER = "citylive"
DATABASE = "ferretdb"

# Sized for the 2-core / 24 GB machines City Live runs on (docs/architecture.md §8).
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "100",
    "shared_buffers": "'1GB'",
    "effective_cache_size": "'8GB'",
    "work_mem": "'32MB'",
    "maintenance_work_mem": "'256MB'",
    "max_wal_size": "'2GB'",
    "checkpoint_timeout": "'15min'",
    "wal_compression": "on",
    "random_page_cost": "1.1",
    "max_worker_processes": "4",
    "max_parallel_workers_per_gather": "1",
    "plan_cache_mode": "force_custom_plan",
    "logging_collector": "off",
    "log_min_messages": "warning",
}
# Throwaway clusters (tests) trade durability for speed; their data is deleted afterwards.
THROWAWAY = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class PostgresError(Exception):
    """PostgreSQL could not be installed, initialised or started; the message says why."""


def bin_dir() -> Path | None:
    """The newest installed server's bin folder (/usr/lib/postgresql/<v>/bin), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    return found[-1].parent if found else None


def ensure_installed() -> Path:
    """The server's bin folder; installs Debian's `postgresql` package when it is missing."""
    found = bin_dir()
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise PostgresError("PostgreSQL is not installed; install Debian's `postgresql` package "
                            "(apt-get install postgresql) or set FERRETDB_POSTGRESQL_URL")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"],
                ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "postgresql"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise PostgresError(f"{' '.join(cmd)} failed:\n{(proc.stdout + proc.stderr)[-2000:]}")
    found = bin_dir()
    if not found:
        raise PostgresError("apt-get installed postgresql but no server binary was found")
    return found


def can_traverse(path: Path) -> bool:
    """Whether the server's user can reach `path` (every folder above it searchable)."""
    path.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(as_server_user(["test", "-x", str(path)]), capture_output=True, cwd="/")
    return proc.returncode == 0


def as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", RUN_AS, "--", *cmd] if os.geteuid() == 0 else cmd


class Cluster:
    """One PostgreSQL cluster: a data folder, a loopback port and a socket folder."""

    def __init__(self, data: Path, port: int, log: Path, throwaway: bool = False) -> None:
        self.data = data
        self.port = port
        self.log = log
        self.socket_dir = data.parent / f"{data.name}-socket"
        self.throwaway = throwaway

    @property
    def bin(self) -> Path:
        found = bin_dir()
        if found is None:
            raise PostgresError("PostgreSQL is not installed")
        return found

    @property
    def url(self) -> str:
        """The URL FerretDB connects with (trust auth on loopback only, see init)."""
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, cmd: list[str], what: str, server_user: bool = True) -> str:
        full = as_server_user(cmd) if server_user else cmd
        proc = subprocess.run(full, capture_output=True, text=True, cwd="/")
        if proc.returncode != 0:
            raise PostgresError(f"{what} failed (exit {proc.returncode}):\n"
                                f"{(proc.stdout + proc.stderr)[-2000:]}\n{tail(self.log)}")
        return proc.stdout

    def _own(self, *paths: Path) -> None:
        """Hand folders to the server user when we are root (postgres refuses root)."""
        for path in paths:
            path.mkdir(parents=True, exist_ok=True)
            if os.geteuid() == 0:
                shutil.chown(path, RUN_AS, RUN_AS)

    def init(self) -> None:
        """initdb once; (re)write the City Live settings on every start."""
        self.data.parent.mkdir(parents=True, exist_ok=True)  # only traversed by the server
        self._own(self.socket_dir)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        if not (self.data / "PG_VERSION").exists():
            self._own(self.data)
            # trust on loopback only: the cluster listens on 127.0.0.1 and its socket folder
            # is private; production points FerretDB (or MONGO_URI) elsewhere.
            self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER,
                       "--auth-local=trust", "--auth-host=trust", "-E", "UTF8",
                       "--no-locale", "--no-instructions"], "initdb")
        conf = {**SETTINGS, **(THROWAWAY if self.throwaway else {}),
                "port": str(self.port), "unix_socket_directories": f"'{self.socket_dir}'"}
        text = "# written by infra/postgres.py on every start\n" + "".join(
            f"{k} = {v}\n" for k, v in conf.items())
        target = self.data / "citylive.conf"
        target.write_text(text)
        if os.geteuid() == 0:
            shutil.chown(target, RUN_AS, RUN_AS)
        main_conf = self.data / "postgresql.conf"
        if "include_if_exists = 'citylive.conf'" not in main_conf.read_text():
            with main_conf.open("a") as out:
                out.write("\ninclude_if_exists = 'citylive.conf'\n")

    def ready(self) -> bool:
        if bin_dir() is None:
            return False
        proc = subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1",
                               "-p", str(self.port)], capture_output=True)
        return proc.returncode == 0

    def running(self) -> bool:
        """Whether this cluster's postmaster is alive (pg_ctl status)."""
        if not (self.data / "postmaster.pid").exists() or bin_dir() is None:
            return False
        proc = subprocess.run(as_server_user([str(self.bin / "pg_ctl"), "status", "-D",
                                              str(self.data)]), capture_output=True, cwd="/")
        return proc.returncode == 0

    def start(self, timeout_s: int = 60) -> None:
        """Start (or reuse) the cluster and prepare FerretDB's database and index trigger."""
        ensure_installed()
        self.init()
        if not self.running():
            if self.log.exists() and os.geteuid() == 0:
                shutil.chown(self.log, RUN_AS, RUN_AS)
            elif os.geteuid() == 0:
                self.log.touch()
                shutil.chown(self.log, RUN_AS, RUN_AS)
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                       "-w", "-t", str(timeout_s), "start"], "pg_ctl start")
        deadline = time.monotonic() + timeout_s
        while not self.ready():
            if time.monotonic() > deadline:
                raise PostgresError(f"PostgreSQL did not answer on 127.0.0.1:{self.port}:\n"
                                    f"{tail(self.log)}")
            time.sleep(0.3)
        self.ensure_database()

    def psql(self, *args: str, database: str = "postgres") -> str:
        return self._run([str(self.bin / "psql"), "-X", "-q", "-v",
                          "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port), "-U",
                          SUPERUSER, "-d", database, *args], "psql", server_user=False)

    def ensure_database(self) -> None:
        exists = self.psql("-At", "-c",
                           f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'").strip()
        if exists != "1":
            self.psql("-c", f"CREATE DATABASE {DATABASE}")
        self.psql("-f", str(SQL), database=DATABASE)

    def stop(self, mode: str = "fast") -> None:
        if self.running():
            self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w",
                       "stop"], "pg_ctl stop")

    def kill(self) -> None:
        """Immediate shutdown: a crash, no checkpoint (fault tests)."""
        self.stop("immediate")


def tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def install_sql(url: str) -> None:
    """Install the companion-index trigger into an existing PostgreSQL (FERRETDB_POSTGRESQL_URL)."""
    psql = shutil.which("psql") or str((bin_dir() or Path("/usr/bin")) / "psql")
    proc = subprocess.run([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", str(SQL)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise PostgresError("installing infra/postgres/citylive.sql failed (it needs a "
                            f"superuser):\n{(proc.stdout + proc.stderr)[-2000:]}")
