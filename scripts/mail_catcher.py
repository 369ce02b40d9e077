"""A local SMTP server for development (`make run`): it accepts every message and keeps each
one as a file, `<directory>/<UTC time>-<n>.eml`, which any mail reader opens (or `cat`).

Nothing is relayed anywhere; it listens on loopback only. Stop it with SIGTERM or Ctrl-C.

    python scripts/mail_catcher.py --port 8025 --directory instance/mail
"""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
import threading
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class KeepAsFiles:
    """aiosmtpd handler: every accepted message becomes one .eml file, written atomically."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.numbers = itertools.count(1)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.directory / f"{stamp}-{next(self.numbers)}.eml"
        partial = path.with_suffix(".part")
        partial.write_bytes(envelope.content)
        partial.replace(path)
        subject = message_from_bytes(envelope.content, policy=default)["Subject"]
        print(f"mail to {', '.join(envelope.rcpt_tos)}: {subject!r} -> {path}", flush=True)
        return "250 Message accepted for delivery"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--directory", type=Path, default=Path("instance/mail"))
    args = parser.parse_args(argv)
    args.directory.mkdir(parents=True, exist_ok=True)
    controller = Controller(KeepAsFiles(args.directory), hostname=args.host, port=args.port)
    controller.start()
    print(f"SMTP catcher on {args.host}:{args.port}, keeping mail in {args.directory}/", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
