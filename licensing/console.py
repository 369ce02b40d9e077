"""The `licensing` console script: every operator command, with no venv to activate.

`.venv/bin/licensing orders expire` is `flask --app wsgi orders expire` with the app already
chosen, so it works from any directory and any shell.
"""

from __future__ import annotations

from flask.cli import FlaskGroup

from licensing import create_app
from licensing.signing_keys_cli import signing_keys_cli

cli = FlaskGroup(
    name="licensing",
    create_app=create_app,
    help="Operator commands of the licensing service (api-keys, orders, events, db, ...).",
)
# Found without loading the app: the first signing key is made before production can start.
cli.add_command(signing_keys_cli)


def main() -> None:
    cli.main(prog_name="licensing")
