"""The cluster's nginx never writes a query string to its access log: the sign-in link's
token travels in one (`/account/sign-in/link?token=...`) and a token is a credential."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from scripts.cluster_procs import free_port, need, nginx_conf, spawn, stop_group, wait_for_port


def test_d24_nginx_logs_the_path_of_a_sign_in_link_but_not_its_token(tmp_path: Path) -> None:
    port, nowhere = free_port(), free_port()  # no node listens: nginx answers 502 itself
    conf = nginx_conf(tmp_path, port, [nowhere])
    folder = str(conf.parent)
    args = [need("nginx"), "-e", f"{folder}/error.log", "-p", folder, "-c", str(conf)]
    process = spawn([*args, "-g", "daemon off;"], log=tmp_path / "nginx.out", env={}, cwd=tmp_path)
    try:
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}/account/sign-in/link?token=SECRET-TOKEN-123"
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(url, timeout=10)
        answer.value.close()
        assert answer.value.code == 502
        log = tmp_path / "access.log"
        deadline = time.monotonic() + 10
        while "sign-in" not in (log.read_text() if log.exists() else ""):
            assert time.monotonic() < deadline, "nginx wrote no access log line"
            time.sleep(0.05)
    finally:
        stop_group(process.pid, process)
    line = log.read_text()
    assert '"GET /account/sign-in/link HTTP/1.1" 502' in line
    assert "SECRET-TOKEN-123" not in line and "token" not in line
    assert subprocess.run([need("nginx"), "-t", "-p", folder, "-c", str(conf)]).returncode == 0
