"""Operator commands: `flask --app wsgi api-keys create|list|revoke`."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from licensing.clock import utcnow
from licensing.domain.errors import DomainError
from licensing.services import api_keys as keys

api_keys_cli = AppGroup("api-keys", help="Create, list and revoke API keys.")


@api_keys_cli.command("create")
@click.option("--name", required=True, help="Who the key is for, e.g. checkout-prod.")
@click.option(
    "--scopes", required=True, help="Comma-separated: checkout,helpdesk,finance,partner:<id>,admin"
)
def create_api_key(name: str, scopes: str) -> None:
    """Create a key and print it once, alone on the last line (only its hash is kept)."""
    wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
    try:
        key, plain = keys.create_api_key(name=name, scopes=wanted, now=utcnow())
    except DomainError as error:
        raise click.ClickException(error.detail) from None
    click.echo(f"created API key {key.public_id} ({key.name}) with scopes {','.join(key.scopes)}")
    click.echo("store it now; it cannot be shown again:")
    click.echo(plain)


@api_keys_cli.command("list")
def list_api_keys() -> None:
    """List keys (never their secrets)."""
    for key in keys.list_api_keys():
        state = f"revoked {key.revoked_at:%Y-%m-%dT%H:%M:%SZ}" if key.revoked_at else "active"
        click.echo(f"{key.public_id}\t{key.name}\t{','.join(key.scopes)}\t{state}")


@api_keys_cli.command("revoke")
@click.argument("public_id")
def revoke_api_key(public_id: str) -> None:
    """Revoke a key by its public id (the part after `lk_`); it stops working at once."""
    try:
        key = keys.revoke_api_key(public_id=public_id, now=utcnow())
    except DomainError as error:
        raise click.ClickException(error.detail) from None
    click.echo(f"revoked {key.public_id} ({key.name})")


def register(app: Flask) -> None:
    app.cli.add_command(api_keys_cli)
