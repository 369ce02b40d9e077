"""`signing-keys`: make and inspect certificate signing keys (D23) without starting the service.

The commands need no app (production refuses to start without a key, and the first key is
made before there is one); they never print a private key.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from licensing.adapters import signing

signing_keys_cli = AppGroup("signing-keys", help="Make and inspect certificate signing keys.")


@signing_keys_cli.command("generate", with_appcontext=False)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def generate(path: Path) -> None:
    """Write a new Ed25519 private key to PATH (mode 0600; an existing file is never
    overwritten) and print its kid and public key, never the private key."""
    try:
        key = signing.write_new_private_key(path)
    except FileExistsError:
        raise click.ClickException(f"{path} exists; a key file is never overwritten") from None
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror}") from None
    _describe(key.public_key(), f"wrote a new private key to {path} (mode 0600)")


@signing_keys_cli.command("public", with_appcontext=False)
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def public(path: Path) -> None:
    """Print the kid and public key of the private key in PATH (for LICENSE_RETIRED_KEYS)."""
    try:
        key = signing.load_private_key(path.read_text(encoding="ascii"))
    except (signing.BadKeyMaterial, UnicodeDecodeError, OSError):
        raise click.ClickException(f"{path} does not hold a PEM Ed25519 private key") from None
    _describe(key.public_key(), f"the public half of {path}")


def _describe(public_key: signing.Ed25519PublicKey, heading: str) -> None:
    click.echo(heading)
    click.echo(f"kid: {signing.public_jwk(public_key).kid}")
    click.echo(signing.public_pem(public_key), nl=False)
