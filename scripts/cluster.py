"""A local cluster in the production topology: several app hosts sharing PostgreSQL, Redis and a
Chroma server, each host on its own loopback address with its own worker processes.

    python scripts/cluster.py up [--hosts 2] [--workers 2] [--kb DIR] [--state DIR]   # until Ctrl-C
    python scripts/cluster.py check                                                  # up, one turn per host, down

As a library (tests/cluster/, eval/bench_load.py):

    with Cluster(hosts=2, workers=1) as cluster:
        cluster.hosts[0].url        # http://127.0.0.2:<port>
        cluster.kill_host("a")      # SIGKILL, the whole host (every worker)
        cluster.stop_redis(); cluster.start_redis()

What it starts:
  - a Chroma server (`chroma run`, from the chromadb package) on a free port, its data in the state dir;
  - a Redis server of its own (`redis-server`, no persistence) on a free port, so that a test may
    restart it; or, with redis_url given, that one (shared: never restarted);
  - a fresh PostgreSQL database on the running server (CLUSTER_POSTGRES_URL, default
    postgresql+psycopg://postgres@127.0.0.1:5432/postgres), dropped at the end unless the state
    dir is kept;
  - the hosts: `assistant serve --workers N` on 127.0.0.2, 127.0.0.3, … (Linux routes all of
    127.0.0.0/8 to the loopback interface), all on one port, as production hosts behind one name.
    They share the JWT secret and the audit chain's key, read the learned models from one
    directory (built once by `assistant train`), and each keeps its own var/ for the rest.
All hosts start at once (they race for the migrations and the indexing, which take their locks).

Everything stops whatever the outcome: each server runs in a process group of its own, which is
signalled as a whole (SIGTERM, then SIGKILL); on leaving the `with` block, at interpreter exit, and
on SIGTERM or SIGHUP to the command. If this process itself is killed (SIGKILL, a crash), a small
reaper process that watches it kills every group, drops the database and removes the temporary
state (uvicorn's workers would otherwise outlive their supervisor and keep the port).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TRADING_SESSION = "2026-11-25T10:30:00+08:00"  # a Wednesday morning: orders are accepted

_LIVE: set[Cluster] = set()
_LIVE_LOCK = threading.Lock()


def _stop_all() -> None:
    with _LIVE_LOCK:
        clusters = list(_LIVE)
    for cluster in clusters:
        cluster.stop()


atexit.register(_stop_all)


def _die_with_parent() -> None:  # runs in the child between fork and exec
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


# Run as `python -c REAPER <harness pid> <state file>`: waits for the harness to die without
# cleaning up, then does it. The harness ends the reaper itself after a normal stop.
REAPER = r"""
import json, os, shutil, signal, sys, time
parent, path = int(sys.argv[1]), sys.argv[2]
while os.getppid() == parent:
    time.sleep(0.5)
try:
    state = json.load(open(path))
except (OSError, ValueError):
    sys.exit(0)
for pgid in state.get("groups", []):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except OSError:
        pass
if state.get("drop_database"):
    try:
        import psycopg
        with psycopg.connect(state["admin_url"], autocommit=True) as conn:
            conn.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % state["drop_database"])
    except Exception:
        pass
if state.get("remove_dir"):
    shutil.rmtree(state["remove_dir"], ignore_errors=True)
"""


def free_port(*addresses: str) -> int:
    """A port free on every address given (hosts on several addresses share one port number)."""
    addresses = addresses or ("127.0.0.1",)
    for _ in range(100):
        with socket.socket() as s:
            s.bind((addresses[0], 0))
            port = s.getsockname()[1]
        try:
            for address in addresses[1:]:
                with socket.socket() as s:
                    s.bind((address, port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def _wait_port(address: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=0.5):
            return True
        time.sleep(0.1)
    return False


class Server:
    """One process group: started, signalled and reaped as a whole."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, cwd: Path = PROJECT_ROOT,
                 on_start=None) -> None:
        self.name, self.argv, self.env, self.log_path, self.cwd = name, argv, env, log_path, cwd
        self.process: subprocess.Popen | None = None
        self.on_start = on_start  # told each new process group (the reaper's list)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child keeps it
        log.write(f"\n==== {time.strftime('%H:%M:%S')} start: {' '.join(self.argv)}\n".encode())
        log.flush()
        preexec = _die_with_parent if threading.current_thread() is threading.main_thread() else None
        self.process = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=preexec)
        log.close()
        if self.on_start:
            self.on_start(self.name, self.process.pid)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def signal(self, sig: int) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, sig)  # the group: uvicorn's supervisor and every worker

    def kill(self) -> None:
        """SIGKILL to every process of the group, as a host that loses power."""
        self.signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait()

    def stop(self, grace: float = 15.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        self.signal(signal.SIGKILL)  # whatever is left of the group (workers outliving their supervisor)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Host:
    name: str
    address: str
    port: int
    workers: int
    server: Server

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.address}:{self.port}"

    def readyz(self) -> tuple[int, dict]:
        response = httpx.get(f"{self.url}/readyz", timeout=5)
        return response.status_code, response.json()


@dataclass(eq=False)
class Cluster:
    hosts_count: int = 2
    workers: int = 1
    kb_dir: Path | None = None  # default: the repository's knowledge_base/
    state_dir: Path | None = None  # kept between runs (the Chroma data, the database); default: a temp dir, removed
    redis_url: str | None = None  # an existing Redis to share; default: one of its own (restartable)
    postgres_url: str = field(default_factory=lambda: os.environ.get("CLUSTER_POSTGRES_URL", DEFAULT_POSTGRES))
    model_dir: Path = PROJECT_ROOT / "var"  # nlu/ and compliance/ under it, built by `assistant train`
    environment: str = "production"
    simulator_now: str | None = TRADING_SESSION
    env: dict[str, str] = field(default_factory=dict)  # more ASSISTANT_* settings for every host
    first_address: int = 2  # 127.0.0.2, 127.0.0.3, …
    ready_timeout: float = 600.0

    def __post_init__(self) -> None:
        self.kb_dir = Path(self.kb_dir or PROJECT_ROOT / "knowledge_base").resolve()
        self._keep = self.state_dir is not None
        self.hosts: list[Host] = []
        self.chroma: Server | None = None
        self.redis: Server | None = None
        self.jwt_secret = secrets.token_urlsafe(48)
        self.audit_key = secrets.token_urlsafe(48)
        self._started = False
        self._groups: dict[str, int] = {}  # server name -> its process group (the newest start)
        self._reaper: subprocess.Popen | None = None

    # ---- lifecycle -----------------------------------------------------------------------------
    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, *, wait: bool = True) -> None:
        with _LIVE_LOCK:
            _LIVE.add(self)
        self._started = True
        if self.state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="assistant-cluster-"))
        self.state_dir = Path(self.state_dir).resolve()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._ensure_models()
        self.database_name = self._database_name()
        self._start_reaper()
        self._create_database()
        chroma_port = free_port()
        self.chroma = Server("chroma", [str(BIN / "chroma"), "run", "--path", str(self.state_dir / "chroma"),
                                        "--host", "127.0.0.1", "--port", str(chroma_port)],
                             {**os.environ, "ANONYMIZED_TELEMETRY": "False"}, self.state_dir / "logs" / "chroma.log",
                             on_start=self._group_started)
        self.chroma_port = chroma_port
        self.start_chroma()
        if self.redis_url is None:
            self.redis_port = free_port()
            self.redis = Server("redis", ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
                                          "--save", "", "--appendonly", "no", "--daemonize", "no"],
                                dict(os.environ), self.state_dir / "logs" / "redis.log", on_start=self._group_started)
            self.start_redis()
            self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        addresses = [f"127.0.0.{self.first_address + i}" for i in range(self.hosts_count)]
        port = free_port(*addresses)
        for i, address in enumerate(addresses):
            name = chr(ord("a") + i)
            var = self.state_dir / "hosts" / name / "var"
            var.mkdir(parents=True, exist_ok=True)
            argv = [str(BIN / "assistant"), "serve", "--host", address, "--port", str(port),
                    "--workers", str(self.workers)]
            self.hosts.append(Host(name, address, port, self.workers,
                                   Server(f"host-{name}", argv, self.host_env(var), self.state_dir / "logs" / f"host-{name}.log",
                                          on_start=self._group_started)))
        for host in self.hosts:  # at once: they race for the migrations and the first indexing
            host.server.start()
        if wait:
            self.wait_ready()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        for server in [h.server for h in self.hosts] + [s for s in (self.chroma, self.redis) if s]:
            with contextlib.suppress(Exception):
                server.stop()
        if self._reaper is not None:  # cleaned up here: the reaper is not needed
            self._reaper.kill()
            self._reaper.wait()
        if not self._keep:
            with contextlib.suppress(Exception):
                self._drop_database()
            if self.state_dir is not None:
                shutil.rmtree(self.state_dir, ignore_errors=True)
        with _LIVE_LOCK:
            _LIVE.discard(self)

    # ---- the reaper -----------------------------------------------------------------------------
    def _reaper_state(self) -> None:
        state = {"groups": sorted(self._groups.values()),
                 "admin_url": self.postgres_url.replace("postgresql+psycopg://", "postgresql://"),
                 "drop_database": None if self._keep else self.database_name,
                 "remove_dir": None if self._keep else str(self.state_dir)}
        path = self.state_dir / "reaper.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(path)

    def _start_reaper(self) -> None:
        self._reaper_state()
        self._reaper = subprocess.Popen([sys.executable, "-c", REAPER, str(os.getpid()), str(self.state_dir / "reaper.json")],
                                        start_new_session=True, stdin=subprocess.DEVNULL)

    def _group_started(self, name: str, pgid: int) -> None:
        self._groups[name] = pgid
        self._reaper_state()

    # ---- settings --------------------------------------------------------------------------------
    @property
    def database_url(self) -> str:
        base = self.postgres_url.rsplit("/", 1)[0]
        return f"{base}/{self.database_name}"

    def shared_env(self) -> dict[str, str]:
        """The settings every process of the cluster shares (hosts, and `assistant` commands run against it)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
        env.update({
            "ASSISTANT_ENVIRONMENT": self.environment,
            "ASSISTANT_DATABASE_URL": self.database_url,
            "ASSISTANT_REDIS_URL": self.redis_url or "",
            "ASSISTANT_CHROMA_HOST": "127.0.0.1",
            "ASSISTANT_CHROMA_PORT": str(self.chroma_port),
            "ASSISTANT_KB_DIR": str(self.kb_dir),
            "ASSISTANT_NLU_MODEL_DIR": str(self.model_dir / "nlu"),
            "ASSISTANT_COMPLIANCE_MODEL_DIR": str(self.model_dir / "compliance"),
            "ASSISTANT_STT_DIR": str(PROJECT_ROOT / "var" / "stt"),
            "ASSISTANT_STT_PRELOAD": "false",
            "ASSISTANT_AUTH_JWT_SECRET": self.jwt_secret,
            "ASSISTANT_AUDIT_HMAC_KEY": self.audit_key,
            "ASSISTANT_EMBEDDING_THREADS": "1",
            "ASSISTANT_LOG_LEVEL": "INFO",
        })
        if self.simulator_now:
            env["ASSISTANT_SIMULATOR_NOW"] = self.simulator_now
        env.update(self.env)
        return env

    def host_env(self, var: Path) -> dict[str, str]:
        return {**self.shared_env(), "ASSISTANT_VAR_DIR": str(var)}

    def settings(self):
        """The cluster's settings as a Settings object (to mint tokens, open the database in a test)."""
        from assistant.settings import Settings

        env = self.shared_env()
        values = {k[len("ASSISTANT_"):].lower(): v for k, v in env.items() if k.startswith("ASSISTANT_")}
        return Settings(_env_file=None, var_dir=self.state_dir / "cli-var", **values)

    def token(self, subject: str, roles: list[str] | None = None) -> str:
        """A bearer token as the broker's sign-in would issue it (signed with the cluster's secret)."""
        from assistant.channels.tokens import mint

        return mint(self.settings(), subject, roles=roles)

    def assistant(self, *args: str, input: str | None = None, env: dict[str, str] | None = None,
                  timeout: float = 900) -> subprocess.CompletedProcess:
        """Run an `assistant` command against the cluster's shared stores (as a deploy job would)."""
        var = self.state_dir / "cli-var"
        return subprocess.run([str(BIN / "assistant"), *args], env={**self.host_env(var), **(env or {})},
                              cwd=PROJECT_ROOT, input=input, capture_output=True, text=True, timeout=timeout)

    # ---- parts -----------------------------------------------------------------------------------
    def _ensure_models(self) -> None:
        """The learned models, built once into the shared directory, as a release build would: `assistant
        train` builds what is missing or stale (its data changed: the output guard's data includes the
        knowledge base) and is quick when all is built. A production host refuses to start without them."""
        done = subprocess.run([str(BIN / "assistant"), "train"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              env={**{k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")},
                                   "ASSISTANT_NLU_MODEL_DIR": str(self.model_dir / "nlu"),
                                   "ASSISTANT_COMPLIANCE_MODEL_DIR": str(self.model_dir / "compliance"),
                                   # the output guard learns the knowledge base the hosts will serve
                                   "ASSISTANT_KB_DIR": str(self.kb_dir)})
        if done.returncode != 0:
            raise RuntimeError(f"assistant train failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")

    def _database_name(self) -> str:
        if self._keep:  # one database per kept state dir, found again on the next run
            marker = self.state_dir / "database"
            if not marker.exists():
                marker.write_text(f"assistant_cluster_{uuid.uuid4().hex[:10]}")
            return marker.read_text().strip()
        return f"assistant_cluster_{uuid.uuid4().hex[:10]}"

    def _admin(self):
        import psycopg

        url = self.postgres_url.replace("postgresql+psycopg://", "postgresql://")
        return psycopg.connect(url, autocommit=True)

    def _create_database(self) -> None:
        with self._admin() as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database_name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{self.database_name}"')

    def _drop_database(self) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database_name}" WITH (FORCE)')

    def start_chroma(self) -> None:
        self.chroma.start()
        if not _wait_port("127.0.0.1", self.chroma_port, 60):
            raise RuntimeError(f"Chroma did not start:\n{self.chroma.log_tail()}")

    def stop_chroma(self) -> None:
        self.chroma.stop()

    def start_redis(self) -> None:
        if self.redis is None:
            raise RuntimeError("this cluster shares an outside Redis: it is not restarted")
        self.redis.start()
        if not _wait_port("127.0.0.1", self.redis_port, 30):
            raise RuntimeError(f"Redis did not start:\n{self.redis.log_tail()}")

    def stop_redis(self) -> None:
        if self.redis is None:
            raise RuntimeError("this cluster shares an outside Redis: it is not restarted")
        self.redis.stop()

    # ---- hosts -------------------------------------------------------------------------------------
    def host(self, name: str) -> Host:
        return next(h for h in self.hosts if h.name == name)

    def kill_host(self, name: str) -> None:
        """SIGKILL every process of the host at once: open sockets drop, nothing is flushed."""
        self.host(name).server.kill()

    def start_host(self, name: str, *, wait: bool = True) -> None:
        host = self.host(name)
        host.server.stop()
        host.server.start()
        if wait:
            self.wait_ready([host])

    def wait_ready(self, hosts: list[Host] | None = None, timeout: float | None = None) -> None:
        """Every worker of every host answers /readyz 200: probe on fresh connections until as many in a
        row succeed as make it very likely each worker was asked (the kernel spreads the connections)."""
        deadline = time.monotonic() + (timeout or self.ready_timeout)
        for host in hosts or self.hosts:
            streak = 0
            while streak < 6 * host.workers:
                if not host.server.running:
                    raise RuntimeError(f"host {host.name} exited:\n{host.server.log_tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"host {host.name} not ready:\n{host.server.log_tail()}")
                try:
                    status, _ = host.readyz()
                    streak = streak + 1 if status == 200 else 0
                except (httpx.HTTPError, ValueError):
                    streak = 0
                time.sleep(0.05 if streak else 0.5)

    def describe(self) -> str:
        lines = [f"PostgreSQL  {self.database_url}", f"Redis       {self.redis_url}",
                 f"Chroma      http://127.0.0.1:{self.chroma_port}  (data {self.state_dir / 'chroma'})"]
        lines += [f"host {h.name}      {h.url}  ({h.workers} worker{'s' if h.workers > 1 else ''}, log "
                  f"{h.server.log_path})" for h in self.hosts]
        return "\n".join(lines)


def _smoke(cluster: Cluster) -> bool:
    """One knowledge question and one account look-up on every host, with one conversation moving
    between hosts (as behind a load balancer)."""
    ok = True
    headers = {"Authorization": f"Bearer {cluster.token('100001')}"}
    cid = httpx.post(f"{cluster.hosts[0].url}/v1/conversations", headers=headers, timeout=30).json()["id"]
    for host in cluster.hosts:
        status, ready = host.readyz()
        for text in ("卖股票要交哪些费用", "我的持仓"):
            r = httpx.post(f"{host.url}/v1/conversations/{cid}/messages", headers=headers, json={"text": text}, timeout=60)
            answer = r.json().get("text", r.text) if r.headers.get("content-type", "").startswith("application/json") else r.text
            print(f"host {host.name} {r.status_code} {text} → {answer[:60]}")
            ok &= r.status_code == 200
        print(f"host {host.name} /readyz {status}: index {ready.get('index_version')}, "
              f"{ready.get('indexed_chunks')} chunks, degraded {ready.get('degraded')}")
        ok &= status == 200
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "check"])
    parser.add_argument("--hosts", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="worker processes per host")
    parser.add_argument("--kb", type=Path, help="knowledge base directory (default knowledge_base/)")
    parser.add_argument("--state", type=Path, help="keep the Chroma data and the database here between runs")
    parser.add_argument("--redis-url", help="share this Redis instead of starting one")
    parser.add_argument("--development", action="store_true",
                        help="ASSISTANT_ENVIRONMENT=development (X-Customer-Id and the demo sign-in work)")
    args = parser.parse_args()

    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    started = time.monotonic()
    cluster = Cluster(hosts_count=args.hosts, workers=args.workers, kb_dir=args.kb, state_dir=args.state,
                      redis_url=args.redis_url, environment="development" if args.development else "production")
    with cluster:
        print(cluster.describe())
        print(f"ready after {time.monotonic() - started:.0f} s")
        if args.command == "check":
            sys.exit(0 if _smoke(cluster) else 1)
        print("customer token (100001):", cluster.token("100001"))
        print("`assistant` against the cluster:", json.dumps({k: v for k, v in cluster.shared_env().items()
                                                             if k.startswith("ASSISTANT_")}, ensure_ascii=False))
        print("Ctrl-C stops everything.")
        with contextlib.suppress(KeyboardInterrupt):
            while all(h.server.running for h in cluster.hosts):
                time.sleep(1)
            print("a host exited; stopping")


if __name__ == "__main__":
    sys.path.insert(0, str(PROJECT_ROOT))
    main()
