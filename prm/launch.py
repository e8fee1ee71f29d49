"""The two commands `./run demo` and `./run test` (the `run` script bootstraps .venv, then runs this).

Both use the PostgreSQL and Redis that DATABASE_URL and REDIS_URL name when they are set, and otherwise start
embedded ones (prm.localservices). Every child runs in a process group of its own, so a Ctrl-C reaches this
process alone and it stops the children in order: the web and the workers first, then the servers they use.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from prm import localservices

BASE_DIR = Path(__file__).resolve().parent.parent
STATE_DIR = BASE_DIR / ".prm"  # the demo's data: database cluster, Valkey dump, beat schedule, media
# While the demo runs, the addresses of its servers, so that `./run manage` can reach them.
SERVICES_FILE = STATE_DIR / "services.env"
PYTHON = sys.executable
# The key that encrypts CRM credentials at rest when PRM_CRM_ENCRYPTION_KEYS is not set: made once, kept.
CRM_KEY_FILE = STATE_DIR / "crm-encryption.key"
# The demo's CRM: the local Salesforce emulator's data, and the connected app of each demo tenant in it.
CRM_EMULATOR_DIR = STATE_DIR / "crm-emulator"
CRM_DEMO_CLIENTS_FILE = STATE_DIR / "crm-demo-clients.json"
CRM_DEMO_TENANTS = ("acme", "globex")  # the slugs of prm.demo.TENANTS
WEB_START_TIMEOUT = 60

PYTEST_EXIT_CODES = {
    1: "some tests failed",
    2: "the run was interrupted",
    3: "pytest hit an internal error",
    4: "pytest was called wrongly",
    5: "no tests were collected",
}


class LaunchError(Exception):
    """Something the person at the terminal needs to hear about; ends the run with exit code 1."""


class Stopped(Exception):
    """A Ctrl-C (SIGINT) or a SIGTERM asked this process to stop."""


def say(message: str) -> None:
    print(f"prm: {message}", flush=True)


def _stop_on_signals() -> None:
    """Turn the first SIGINT or SIGTERM into Stopped, raised wherever this process is."""

    def stop(signum, frame):
        _ignore_further_stops()
        raise Stopped

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def _ignore_further_stops() -> None:
    """While stopping, a second Ctrl-C must not cut the shutdown short and leave servers behind."""

    def still_stopping(signum, frame):
        say("still stopping, please wait")

    signal.signal(signal.SIGINT, still_stopping)
    signal.signal(signal.SIGTERM, still_stopping)


def _describe(url: str) -> str:
    """host:port/name of a server URL, without its password."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 'default port'}{parts.path}"


@contextlib.contextmanager
def services(*, persistent: bool) -> Iterator[tuple[dict[str, str], list[localservices.Server]]]:
    """Yield the environment for the children, with DATABASE_URL and REDIS_URL pointing at running servers,
    and the embedded servers started for that.

    The embedded servers keep their data in .prm/ when `persistent` (the demo), else in temporary directories.
    """
    env = dict(os.environ)
    embedded: list[localservices.Server] = []
    with contextlib.ExitStack() as stack:
        if env.get("DATABASE_URL"):
            say(f"using the PostgreSQL of DATABASE_URL ({_describe(env['DATABASE_URL'])})")
            if not localservices.ensure_database(env["DATABASE_URL"]):
                say("could not check or create that database; carrying on, the next step will say more")
        else:
            pgdata = STATE_DIR / "pgdata" if persistent else None
            say("starting an embedded PostgreSQL" + (" (data in .prm/pgdata)" if persistent else ""))
            embedded.append(stack.enter_context(localservices.postgres(pgdata)))
            env["DATABASE_URL"] = embedded[-1].url
            say(f"PostgreSQL is up at {env['DATABASE_URL']}")

        if env.get("REDIS_URL"):
            say(f"using the Redis of REDIS_URL ({_describe(env['REDIS_URL'])})")
        else:
            valkey_dir = STATE_DIR / "valkey" if persistent else None
            say("starting an embedded Valkey (Redis-compatible)")
            embedded.append(stack.enter_context(localservices.valkey(valkey_dir)))
            env["REDIS_URL"] = embedded[-1].url
            say(f"Valkey is up at {env['REDIS_URL']}")
        try:
            yield env, embedded
        finally:
            if embedded:
                say("stopping the embedded servers")


def _write_private(path: Path, text: str) -> None:
    """Create `path` readable by this user only (0600), failing if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)


def _crm_encryption_key(env: dict[str, str]) -> None:
    """Give the children a key for CRM credentials: the environment's, else the one kept in .prm/."""
    if env.get("PRM_CRM_ENCRYPTION_KEYS"):
        return
    if not CRM_KEY_FILE.exists():
        from cryptography.fernet import Fernet

        _write_private(CRM_KEY_FILE, Fernet.generate_key().decode() + "\n")
        say(f"made a key for CRM credentials in {CRM_KEY_FILE}")
    env["PRM_CRM_ENCRYPTION_KEYS"] = CRM_KEY_FILE.read_text().strip()


def _demo_crm(ports: dict[str, int]) -> dict[str, str]:
    """Prepare the demo's CRM emulators, one per demo tenant on its port (`ports`: slug -> port), and return
    what seed_demo needs to connect to them.

    Each demo tenant has a Salesforce org of its own, as each vendor does: an emulator with its own data
    directory (.prm/crm-emulator/<slug>), its own certificate authority and its own connected app (client id
    and secret, made once and kept in .prm/, registered in the emulator's data before it starts). One org
    shared by both tenants would show each tenant the other's records as CRM records it does not know.
    """
    from crm_sync.emulator import Emulator  # no Django needed: the emulator is plain Python

    if not CRM_DEMO_CLIENTS_FILE.exists():
        clients = {slug: [f"prm-demo-{slug}", secrets.token_urlsafe(24)] for slug in CRM_DEMO_TENANTS}
        _write_private(CRM_DEMO_CLIENTS_FILE, json.dumps(clients, indent=2) + "\n")
    clients = json.loads(CRM_DEMO_CLIENTS_FILE.read_text())
    orgs: dict[str, list[str]] = {}
    for slug, port in ports.items():
        client_id, client_secret = clients[slug][:2]
        emulator = Emulator(CRM_EMULATOR_DIR / slug)
        try:
            emulator.add_client(client_id, client_secret)
        finally:
            emulator.api.store.close()
        orgs[slug] = [client_id, client_secret, f"https://127.0.0.1:{port}", str(emulator.ca_path.resolve())]
    first = next(iter(orgs.values()))
    return {
        # seed_demo connects each tenant to its own org (PRM_DEMO_CRM_CLIENTS); these say a CRM is there.
        "PRM_DEMO_CRM_URL": first[2],
        "PRM_DEMO_CRM_CA": first[3],
        "PRM_DEMO_CRM_CLIENTS": json.dumps(orgs),
    }


# --- ./run demo ---------------------------------------------------------------------------------------------


def demo(port: int, password: str | None) -> int:
    """Migrate, seed, then serve until Ctrl-C; 0 after a Ctrl-C or SIGTERM."""
    hosts = ["127.0.0.1"] + (["::1"] if localservices.ipv6_loopback_available() else [])
    for host in hosts:
        if not localservices.port_is_free(host, port):
            raise LaunchError(f"port {port} is in use on {host}; stop what uses it, or pass --port")
    STATE_DIR.mkdir(exist_ok=True)
    _stop_on_signals()
    try:
        with services(persistent=True) as (env, servers):
            _demo_settings(env, port)
            _run_step("applying migrations", [PYTHON, "manage.py", "migrate", "--noinput"], env)
            crm_ports = {slug: localservices.free_port() for slug in CRM_DEMO_TENANTS}
            crm = _demo_crm(crm_ports)
            seed = [PYTHON, "manage.py", "seed_demo"] + (["--password", password] if password else [])
            # Only seed_demo gets the emulator's client secrets; it stores them encrypted.
            _run_step("loading the demo data", seed, {**env, **crm})
            SERVICES_FILE.write_text(
                "".join(f"{name}={env[name]}\n" for name in ("DATABASE_URL", "REDIS_URL", "PRM_PUBLIC_PORT"))
            )
            try:
                _serve(port, hosts, env, servers, crm_ports)
            finally:
                SERVICES_FILE.unlink(missing_ok=True)
    except Stopped:
        # Reached once everything has stopped: _serve and services() clean up on the way out.
        say("stopped")
    return 0


def _demo_settings(env: dict[str, str], port: int) -> None:
    """Debug mode, readable logs, links to the demo's port and a key for CRM credentials, unless the
    environment says otherwise."""
    _crm_encryption_key(env)
    env.setdefault("PRM_DEBUG", "1")
    env.setdefault("PRM_LOG_FORMAT", "console")
    env.setdefault("PRM_PUBLIC_PORT", str(port))


def _run_step(title: str, args: list[str], env: dict[str, str]) -> None:
    """Run a one-off command to its end; its failure ends the demo."""
    say(title)
    proc = localservices.spawn(args, env=env, cwd=BASE_DIR)
    try:
        while not localservices.has_exited(proc):
            time.sleep(0.1)
    finally:
        localservices.stop_all([(title, proc, signal.SIGTERM)])
    if proc.returncode != 0:
        raise LaunchError(f"{title} failed: {shlex.join(args[1:])} exited with code {proc.returncode}")


def _serve(
    port: int,
    hosts: list[str],
    env: dict[str, str],
    servers: list[localservices.Server],
    crm_ports: dict[str, int],
) -> None:
    """Run the web app, a Celery worker, Celery beat and the tenants' CRM emulators until Ctrl-C, or until
    one of them, or one of the embedded servers, dies."""
    # Browsers may resolve acme.localhost to ::1, so listen there too where the machine has IPv6.
    binds = []
    for host in hosts:
        binds += ["--bind", f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    gunicorn = [PYTHON, "-m", "gunicorn", "prm.wsgi:application", "--workers", "2", "--access-logfile", "-"]
    celery = [PYTHON, "-m", "celery", "-A", "prm", "--quiet"]  # --quiet: no start-up banners burying ours
    commands = {
        "web (gunicorn)": [*gunicorn, *binds],
        "Celery worker": [*celery, "worker", "-l", "info", "--concurrency", "2"],
        "Celery beat": [*celery, "beat", "-l", "info"],
    }
    # Each demo tenant's Salesforce org: HTTPS on 127.0.0.1 only, data kept in .prm/crm-emulator/<slug>.
    emulators = {f"CRM emulator ({slug})": (slug, crm_port) for slug, crm_port in crm_ports.items()}
    for name, (slug, crm_port) in emulators.items():
        commands[name] = [
            PYTHON, "manage.py", "crm_emulator", "--port", str(crm_port),
            "--data-dir", str(CRM_EMULATOR_DIR / slug),
        ]  # fmt: skip
    # The emulators stop on a Ctrl-C (KeyboardInterrupt) and close their databases; the others on SIGTERM.
    stop_signals = dict.fromkeys(emulators, signal.SIGINT)
    children: dict[str, subprocess.Popen] = {}
    dead = None
    try:
        for name, args in commands.items():
            say(f"starting {name}")
            children[name] = localservices.spawn(args, env=env, cwd=BASE_DIR)
        listening = {"the web app": port} | {
            f"the {name}": crm_port for name, (_, crm_port) in emulators.items()
        }
        if _wait_until_listening(listening, children):
            _print_banner(port, crm_ports)
        watched = children | {server.name: server.process for server in servers}
        while (dead := _first_exited(watched)) is None:
            time.sleep(0.5)
    finally:
        _ignore_further_stops()
        say("stopping the web app and the Celery processes")
        # SIGTERM is a graceful stop for all three: gunicorn finishes its requests, the worker its tasks.
        localservices.stop_all(
            [(name, proc, stop_signals.get(name, signal.SIGTERM)) for name, proc in children.items()]
        )
    code = watched[dead].poll()
    raise LaunchError(f"{dead} exited unexpectedly (exit code {code}); stopped the rest")


def _first_exited(children: dict[str, subprocess.Popen]) -> str | None:
    return next((name for name, proc in children.items() if localservices.has_exited(proc)), None)


def _wait_until_listening(ports: dict[str, int], children: dict[str, subprocess.Popen]) -> bool:
    """Wait until every named port on 127.0.0.1 accepts connections (gunicorn queues them while its
    workers boot); False if a child exits meanwhile. A TCP connect rather than a request: /healthz answers
    503, logged as an error, until the worker's first heartbeat."""
    deadline = time.monotonic() + WEB_START_TIMEOUT
    waiting = dict(ports)
    while waiting:
        if _first_exited(children):
            return False
        for name, port in list(waiting.items()):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    del waiting[name]
            except OSError:
                pass
        if waiting and time.monotonic() > deadline:
            name, port = next(iter(waiting.items()))
            raise LaunchError(f"{name} did not listen on port {port} within {WEB_START_TIMEOUT}s")
        if waiting:
            time.sleep(0.2)
    return True


def _print_banner(port: int, crm_ports: dict[str, int]) -> None:
    crm_lines = "".join(
        f"    {f'https://127.0.0.1:{crm_port}':<32}{slug.capitalize()}'s CRM (a Salesforce emulator)\n"
        for slug, crm_port in crm_ports.items()
    )
    print(
        f"""
  PRM demo is running:
    http://acme.localhost:{port}      Acme's partner portal
    http://globex.localhost:{port}    Globex's partner portal
    http://localhost:{port}/admin/    platform admin
{crm_lines}  The logins are listed above. Press Ctrl-C to stop everything.
""",
        flush=True,
    )


# --- ./run manage -------------------------------------------------------------------------------------------


def _running_demo_env() -> dict[str, str] | None:
    """The servers of a demo running right now (from SERVICES_FILE), or None."""
    try:
        lines = SERVICES_FILE.read_text().splitlines()
    except FileNotFoundError:
        return None
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    # A demo killed without its cleanup leaves the file behind: trust it only if its database answers.
    if "DATABASE_URL" not in values or not localservices.ensure_database(values["DATABASE_URL"]):
        return None
    return values


def manage(manage_args: list[str]) -> int:
    """Run `manage.py ARGS` against the demo's data: the running demo's servers, or the embedded servers
    started for the command (the same data in .prm/); or against DATABASE_URL/REDIS_URL when set."""
    args = [PYTHON, "manage.py", *manage_args]
    running = None if os.environ.get("DATABASE_URL") else _running_demo_env()
    if running is not None:
        say("using the servers of the running demo")
        env = {**os.environ, **running}
        _crm_encryption_key(env)
        return subprocess.call(args, env=env, cwd=BASE_DIR)
    STATE_DIR.mkdir(exist_ok=True)
    _stop_on_signals()
    try:
        with services(persistent=True) as (env, _servers):
            # The demo's settings, so that links the command prints or emails point at the demo.
            _demo_settings(env, int(os.environ.get("PRM_PORT", "8000")))
            signal.signal(signal.SIGINT, lambda signum, frame: None)  # the command gets the Ctrl-C itself
            code = subprocess.call(args, env=env, cwd=BASE_DIR)
            _ignore_further_stops()
    except Stopped:
        say("stopped before the command started")
        return 130
    return code


# --- ./run test ---------------------------------------------------------------------------------------------


def test(pytest_args: list[str]) -> int:
    """Run pytest, in parallel unless told otherwise, against throwaway servers; return pytest's exit code."""
    wants_own_n = any(arg.startswith(("-n", "--numprocesses")) for arg in pytest_args)
    args = [PYTHON, "-m", "pytest", *([] if wants_own_n else ["-n", "auto"]), *pytest_args]
    _stop_on_signals()
    try:
        with services(persistent=False) as (env, _servers):
            say(f"running pytest {shlex.join(args[3:])}")
            # pytest stays in the terminal's process group: a Ctrl-C reaches it directly and --pdb can read
            # the keyboard. This process waits for it to finish before stopping the servers.
            signal.signal(signal.SIGINT, lambda signum, frame: None)
            proc = subprocess.Popen(args, env=env, cwd=BASE_DIR)
            signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signal.SIGTERM))
            code = proc.wait()
            _ignore_further_stops()
    except Stopped:
        say("stopped before pytest started")
        return 130
    if code:
        say(f"pytest exited with code {code}: {PYTEST_EXIT_CODES.get(code, 'see its output above')}")
    return code


# --- the command line ---------------------------------------------------------------------------------------

DESCRIPTION = """\
PRM's two commands. Both use the PostgreSQL and Redis named by DATABASE_URL and REDIS_URL when those are
set; otherwise they start an embedded PostgreSQL and an embedded Valkey (Redis-compatible) themselves."""

DEMO_HELP = """\
Start the whole application with demo data: migrate the database, load the demo tenants (acme, globex),
partners and people and print their logins, then run the web app on http://localhost:PORT (and
http://acme.localhost:PORT, http://globex.localhost:PORT), a Celery worker and Celery beat. The embedded
database keeps its data in .prm/, so the next run starts fast with everything as it was left.
Ctrl-C stops everything."""

TEST_HELP = """\
Run the whole test suite with pytest, in parallel (-n auto), against a throwaway embedded database and
Valkey deleted at the end. Any further arguments go to pytest as they are, for example:
  ./run test -k deal          ./run test tests/test_tenancy.py -x          ./run test -n 0 --pdb
Exits with pytest's exit code."""


MANAGE_HELP = """\
Run a Django management command against the demo's database and Valkey: the running demo's, or (when no
demo runs) the embedded servers started for the command, with the same data in .prm/. With DATABASE_URL
and REDIS_URL set, against those. For example:
  ./run manage create_tenant initech "Initech" --admin-email admin@initech.example
  ./run manage seed_demo --password another-secret          ./run manage help"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="./run", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo_parser = commands.add_parser(
        "demo",
        help="start everything with demo data",
        description=DEMO_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo_parser.add_argument(
        "--port",
        type=int,
        default=os.environ.get("PRM_PORT", "8000"),
        help="the web app's port on 127.0.0.1 and ::1 (default: $PRM_PORT or 8000)",
    )
    demo_parser.add_argument("--password", help="the password of every demo login (default: seed_demo's)")
    commands.add_parser(
        "test",
        help="run the whole test suite (extra arguments go to pytest)",
        description=TEST_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    commands.add_parser(
        "manage",
        help="run a manage.py command against the demo's data (extra arguments go to manage.py)",
        description=MANAGE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    options, extra = parser.parse_known_args(argv)
    if options.command == "demo" and extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")

    try:
        if options.command == "demo":
            return demo(options.port, options.password)
        if options.command == "manage":
            return manage(extra)
        return test(extra)
    except (LaunchError, localservices.ServiceError) as error:
        say(str(error))
        return 1


if __name__ == "__main__":
    sys.exit(main())
