"""Processes of the one-machine cluster: start each in its own session, stop by process group.

Each process leads a process group of its own, so a gunicorn master and its workers (or a
killed master's orphaned workers) stop together, and nothing else on the machine is ever
signalled: only the ids the cluster started and wrote down.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from scripts.cluster_pg import MissingBinary

_NGINX_CONF = """
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    # No query string in the log: `$request` (the default `combined`) holds it, and the
    # sign-in link carries its token there (`/account/sign-in/link?token=...`).
    log_format no_query '$remote_addr - $remote_user [$time_local] '
                        '"$request_method $uri $server_protocol" $status $body_bytes_sent '
                        '"$http_referer" "$http_user_agent"';
    access_log {root}/access.log no_query;
    client_body_temp_path {root}/tmp/body;
    proxy_temp_path {root}/tmp/proxy;
    fastcgi_temp_path {root}/tmp/fastcgi;
    uwsgi_temp_path {root}/tmp/uwsgi;
    scgi_temp_path {root}/tmp/scgi;
    upstream licensing {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 1m;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_next_upstream_tries 2;
        proxy_connect_timeout 2s;
        # Which node answered: the cluster test checks that both took a share.
        add_header X-Upstream $upstream_addr always;
        location / {{
            proxy_pass http://licensing;
            # A node that refuses the connection is skipped; the request goes to the next.
            proxy_next_upstream error timeout;
        }}
        location = /v1/stripe/webhook {{
            proxy_pass http://licensing;
            # Stripe's events are applied once by their id, so even a POST a node died
            # under is safe to pass to the next node.
            proxy_next_upstream error timeout non_idempotent;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def need(program: str) -> str:
    """The path of `program`, or MissingBinary naming the Debian package to install."""
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/sbin")
    if path is None:
        raise MissingBinary(f"{program}: install it with apt-get (Debian's package)")
    return path


def spawn(args: list[str], *, log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    """Start `args` in a session of its own, its output appended to `log`."""
    with log.open("ab") as handle:
        return subprocess.Popen(
            args,
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )


def alive(pid: int) -> bool:
    """Whether `pid` still runs; a zombie nobody reaps (no init in a container) does not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def signal_group(pid: int, sig: int) -> None:
    """Signal the process group `pid` leads (the process and whatever it forked)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def stop_group(pid: int, process: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    """SIGTERM the group, wait for it to leave, then SIGKILL whatever is left of it."""
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        if process is None and not alive(pid):
            break
        time.sleep(0.1)
    signal_group(pid, signal.SIGKILL)  # gunicorn workers orphaned by a killed master
    if process is not None:
        process.wait(timeout=10)


def nginx_conf(root: Path, port: int, upstreams: list[int]) -> Path:
    """nginx's whole configuration, logs, pid and temp folders inside `root`."""
    for sub in ("tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (root / sub).mkdir(parents=True, exist_ok=True)
        # nginx's workers drop to `nobody` when the master is root; they buffer here.
        (root / sub).chmod(0o777)
    servers = "\n".join(
        f"        server 127.0.0.1:{up} max_fails=1 fail_timeout=5s;" for up in upstreams
    )
    conf = root / "nginx.conf"
    conf.write_text(_NGINX_CONF.format(root=root, port=port, servers=servers))
    return conf
