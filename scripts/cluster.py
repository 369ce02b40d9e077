"""The service's production topology, started on this one machine (`make cluster`).

A PostgreSQL primary and a hot-standby replica streaming from it, a Redis for the rate
limits every node shares, two gunicorn app nodes behind nginx, two workers, the local
Stripe (its webhook pointed at nginx) and a mail catcher for the owners' emails (D25): every
part on 127.0.0.1 on a free port, every file in one folder, one certificate signing key
shared by the nodes. Usage, from the repository's root:

    .venv/bin/python -m scripts.cluster up [--state instance/cluster.json]
    .venv/bin/python -m scripts.cluster down [--state instance/cluster.json]

`up` prints the addresses and writes the state file that `down` reads to stop everything
and remove the folder. Tests use `Cluster` as a context manager (tests/e2e/test_cluster.py).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from licensing.adapters.signing import write_new_private_key
from scripts import cluster_pg as pg
from scripts.cluster_procs import free_port, need, nginx_conf, spawn, stop_group, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
WEBHOOK_SECRET = "whsec_cluster"
STRIPE_KEY = "sk_test_cluster"
# Stopped in this order: the entry first, the databases last.
_STOP_ORDER = ("nginx", "node", "worker", "stripe", "mail", "redis")


class Cluster:
    """Start with `with Cluster() as cluster:`; everything stops and its folder goes after."""

    def __init__(self, root: Path | None = None, *, env: dict[str, str] | None = None) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="licensing-cluster-"))
        self.root.chmod(0o755)  # the postgres user reaches its folders inside
        self.extra_env = env or {}
        self.ports = {name: free_port() for name in ("primary", "replica", "redis", "nginx")}
        self.ports |= {"stripe": free_port(), "node1": free_port(), "node2": free_port()}
        self.ports |= {"smtp": free_port()}
        self.pids: dict[str, int] = {}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.secret_key = secrets.token_urlsafe(32)
        (self.root / "logs").mkdir(exist_ok=True)

    # Addresses ----------------------------------------------------------------------------
    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.ports['nginx']}"

    @property
    def stripe(self) -> str:
        return f"http://127.0.0.1:{self.ports['stripe']}"

    def dsn(self, which: str) -> str:
        """A libpq address of the primary or the replica (for psycopg or psql)."""
        return pg.url(self.ports[which], driver="postgresql")

    @property
    def mail(self) -> Path:
        """Where the mail catcher keeps every email the workers sent, one .eml file each."""
        return self.root / "mail"

    @property
    def signing_key(self) -> Path:
        return self.root / "license-signing-key.pem"

    @property
    def archive(self) -> Path:
        return self.root / "wal-archive"

    def data(self, which: str) -> Path:
        return self.root / "pg" / which

    # Life ---------------------------------------------------------------------------------
    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Cluster:
        """Databases, Redis, the local Stripe, migrations, nodes, nginx, then the workers."""
        for program in ("redis-server", "nginx"):
            need(program)
        pg.init_primary(
            self.data("primary"), self.ports["primary"], self.root / "pg" / "sock", self.archive
        )
        pg.make_replica(self.data("replica"), self.ports["primary"], self.ports["replica"])
        self._start_redis()
        self._start_mail()
        write_new_private_key(self.signing_key)  # every node signs with the same key (D23)
        self._start_stripe()
        self.licensing("db", "upgrade")
        for node in ("node1", "node2"):
            self.start_node(node)
        self._start_nginx()
        for port in self.ports.values():
            wait_for_port(port)
        for worker in ("worker1", "worker2"):
            self.start_worker(worker)
        self._wait_ready()
        self.write_state(self.root / "cluster.json")
        return self

    def stop(self) -> None:
        """Stop every process the cluster started (by its id), then both databases; rm."""
        for prefix in _STOP_ORDER:
            for name in [name for name in self.pids if name.startswith(prefix)]:
                stop_group(self.pids.pop(name), self.processes.pop(name, None))
        for which in ("replica", "primary"):
            try:
                pg.stop(self.data(which))
            except subprocess.CalledProcessError as error:
                print(f"stopping the {which}: {error.stderr}", file=sys.stderr)
        shutil.rmtree(self.root, ignore_errors=True)

    def kill(self, name: str) -> None:
        """SIGKILL a node or a worker and whatever it forked, as a machine lost at once."""
        os.killpg(self.pids[name], signal.SIGKILL)
        process = self.processes.get(name)
        if process is not None:
            process.wait(timeout=10)

    # Parts --------------------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        """The settings every app node and worker shares (docs/deploy.md lists them)."""
        return {
            **os.environ,
            "LICENSING_ENV": "production",
            "DATABASE_URL": pg.url(self.ports["primary"]),
            "DATABASE_REPLICA_URL": pg.url(self.ports["replica"]),
            "SECRET_KEY": self.secret_key,
            "STRIPE_SECRET_KEY": STRIPE_KEY,
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": self.stripe,
            "RATE_LIMIT_STORAGE_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            "LICENSE_SIGNING_KEY": f"@{self.signing_key}",
            "SMTP_URL": f"smtp://127.0.0.1:{self.ports['smtp']}",
            "PUBLIC_URL": self.api,
            **self.extra_env,
        }

    def licensing(self, *args: str) -> str:
        """Run an operator command against the cluster's primary; its output."""
        done = subprocess.run(
            [str(BIN / "licensing"), *args],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"licensing {' '.join(args)} failed: {done.stderr[-2000:]}")
        return done.stdout

    def create_key(self, scopes: str) -> str:
        name = f"cluster-{scopes}-{secrets.token_hex(3)}"
        return self.licensing("api-keys", "create", "--name", name, "--scopes", scopes).split()[-1]

    def start_node(self, name: str) -> None:
        bind = f"127.0.0.1:{self.ports[name]}"
        sizes = ["--workers", "2", "--threads", "4", "--access-logfile", "-"]
        config = ["-c", "python:licensing.gunicorn_config", "--bind", bind]
        metrics = self.root / "metrics" / name  # each node sums its own gunicorn workers
        metrics.mkdir(parents=True, exist_ok=True)
        extra = {"PROMETHEUS_MULTIPROC_DIR": str(metrics)}
        self._start(name, [str(BIN / "gunicorn"), *config, *sizes, "wsgi:app"], extra)

    def start_worker(self, name: str) -> None:
        self._start(name, [str(BIN / "licensing"), "worker"])

    def _start_redis(self) -> None:
        folder = self.root / "redis"
        folder.mkdir()
        port = str(self.ports["redis"])
        where = ["--bind", "127.0.0.1", "--port", port, "--dir", str(folder)]
        self._start("redis", [need("redis-server"), *where, "--save", "", "--appendonly", "no"])

    def _start_mail(self) -> None:
        script = str(ROOT / "scripts" / "mail_catcher.py")
        where = ["--host", "127.0.0.1", "--port", str(self.ports["smtp"])]
        self._start("mail", [str(BIN / "python"), script, *where, "--directory", str(self.mail)])

    def _start_stripe(self) -> None:
        """The local Stripe, delivering its webhooks through nginx like Stripe would."""
        script = str(ROOT / "scripts" / "local_stripe.py")
        hook = f"{self.api}/v1/stripe/webhook"
        webhook = ["--webhook-url", hook, "--webhook-secret", WEBHOOK_SECRET]
        port = ["--port", str(self.ports["stripe"]), "--from-scratch"]
        self._start("stripe", [str(BIN / "python"), script, *port, *webhook])

    def _start_nginx(self) -> None:
        nodes = [self.ports["node1"], self.ports["node2"]]
        conf = nginx_conf(self.root / "nginx", self.ports["nginx"], nodes)
        folder = str(conf.parent)
        files = ["-e", f"{folder}/error.log", "-p", folder, "-c", str(conf)]
        self._start("nginx", [need("nginx"), *files, "-g", "daemon off;"])

    def _start(self, name: str, args: list[str], extra: dict[str, str] | None = None) -> None:
        log, env = self.root / "logs" / f"{name}.log", {**self.env(), **(extra or {})}
        process = spawn(args, log=log, env=env, cwd=ROOT)
        self.processes[name], self.pids[name] = process, process.pid

    def _wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.api}/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.2)

    # State --------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "pids": self.pids,
            "ports": self.ports,
            "api": self.api,
            "stripe": self.stripe,
            "primary": self.dsn("primary"),
            "replica": self.dsn("replica"),
            "redis": f"redis://127.0.0.1:{self.ports['redis']}/0",
        }

    def write_state(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.state(), indent=2) + "\n")

    @classmethod
    def from_state(cls, path: Path) -> Cluster:
        """The cluster a state file describes, to stop it (`down`)."""
        state = json.loads(path.read_text())
        cluster = cls.__new__(cls)
        cluster.root, cluster.extra_env = Path(state["root"]), {}
        cluster.ports, cluster.pids, cluster.processes = state["ports"], state["pids"], {}
        return cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--state", type=Path, default=ROOT / "instance" / "cluster.json")
    args = parser.parse_args()
    if args.action == "down":
        Cluster.from_state(args.state).stop()
        args.state.unlink()
        print("cluster stopped and its folder removed")
        return
    if args.state.exists():
        sys.exit(f"{args.state} exists: run `make cluster-down` first")
    cluster = Cluster().__enter__()
    cluster.write_state(args.state)
    key = cluster.create_key("admin")
    print(f"\n  Licensing (nginx -> 2 nodes): {cluster.api}")
    print(f"  Admin API key (shown once):   {key}")
    print(f"  Local Stripe:                 {cluster.stripe}")
    print(f"  PostgreSQL primary / replica: {cluster.dsn('primary')}  {cluster.dsn('replica')}")
    print(f"  Redis (rate limits):          redis://127.0.0.1:{cluster.ports['redis']}/0")
    print(f"  Mail to owners (.eml files):  {cluster.mail}")
    print(f"  Files and logs:               {cluster.root}")
    print(f"  Stop it all:                  make cluster-down  (state: {args.state})\n")


if __name__ == "__main__":
    main()
