"""PostgreSQL for the one-machine cluster: a primary and a streaming hot standby of its own.

Both are new clusters made with Debian's binaries in the cluster's folder, on free loopback
ports, with their sockets in that folder: the machine's own PostgreSQL (5432) is never
touched. initdb refuses to run as root, so as root every PostgreSQL command runs as the
`postgres` system user (`runuser`), in folders that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from pathlib import Path

# Streaming replication and a WAL archive (the backup drill in docs/deploy.md restores
# from a base backup plus this archive). `%p`/`%f` are PostgreSQL's, not Python's.
_PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{socket_dir}'
wal_level = replica
max_wal_senders = 10
hot_standby = on
archive_mode = on
archive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'
archive_timeout = 60
max_connections = 200
shared_buffers = 64MB
synchronous_commit = off
full_page_writes = on
"""

_HBA = """
local all all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
local replication all trust
"""


class MissingBinary(RuntimeError):
    """A program the cluster needs is not installed on this machine."""


def pg_bin(name: str) -> str:
    """The newest Debian PostgreSQL's `name` (initdb, pg_ctl, pg_basebackup, ...)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major)
    if not found:
        raise MissingBinary(f"{name}: install Debian's postgresql package")
    return found[-1]


def _major(path: str) -> int:
    return int(Path(path).parts[-3])


def run_as_postgres(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL program, as `postgres` when this process is root (initdb's demand)."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]


def give_to_postgres(path: Path) -> None:
    """Create `path` owned by `postgres` (when root; otherwise by whoever runs this)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        shutil.chown(path, entry.pw_uid, entry.pw_gid)


def init_primary(data: Path, port: int, socket_dir: Path, archive: Path) -> None:
    """A new primary with streaming replication and WAL archiving on, started."""
    for folder in (data, socket_dir, archive):
        give_to_postgres(folder)
    run_as_postgres(
        [pg_bin("initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"]
    )
    conf = _PRIMARY_CONF.format(port=port, socket_dir=socket_dir, archive=archive)
    with (data / "postgresql.conf").open("a") as handle:
        handle.write(conf)
    (data / "pg_hba.conf").write_text(_HBA)
    start(data)
    run_as_postgres([pg_bin("createdb"), "-h", "127.0.0.1", "-p", str(port), "licensing"])


def make_replica(data: Path, primary_port: int, port: int) -> None:
    """A hot standby streaming from the primary (`pg_basebackup -R`), started."""
    give_to_postgres(data)
    run_as_postgres(
        [
            pg_bin("pg_basebackup"),
            *("-h", "127.0.0.1", "-p", str(primary_port), "-U", "postgres"),
            *("-D", str(data), "-R", "-X", "stream", "-c", "fast"),
        ]
    )
    with (data / "postgresql.conf").open("a") as handle:
        # The standby inherits the primary's settings; it listens on its own port and
        # archives nothing (only the primary's archive counts).
        handle.write(f"port = {port}\narchive_mode = off\n")
    start(data)


def start(data: Path) -> None:
    log = data.parent / f"{data.name}.log"
    if os.geteuid() == 0 and not log.exists():
        log.touch()
        shutil.chown(log, "postgres", "postgres")
    run_as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "start"])


def stop(data: Path) -> None:
    """Stop the cluster in `data` if it runs (fast: roll back, checkpoint, exit)."""
    if (data / "postmaster.pid").exists():
        run_as_postgres([pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])


def url(port: int, *, driver: str = "postgresql+psycopg") -> str:
    return f"{driver}://postgres@127.0.0.1:{port}/licensing"
