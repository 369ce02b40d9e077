"""Operator commands: `flask --app wsgi api-keys|orders|idempotency ...`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from licensing import demo_data as demo
from licensing import jobs
from licensing.clock import utcnow
from licensing.domain.errors import DomainError
from licensing.services import api_keys as keys
from licensing.services import emails
from licensing.signing_keys_cli import signing_keys_cli

api_keys_cli = AppGroup("api-keys", help="Create, list and revoke API keys.")


@api_keys_cli.command("create")
@click.option(
    "--name", required=True, help="Name the key after who it is for, such as checkout-prod."
)
@click.option(
    "--scopes",
    required=True,
    help="Give the key these comma-separated scopes, from checkout, helpdesk, finance, "
    "metrics, partner:<id> and admin.",
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
    """List the keys, never their secrets."""
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


orders_cli = AppGroup("orders", help="Maintain orders.")


@orders_cli.command("expire")
@click.option("--limit", default=100, show_default=True, help="Take this many orders per batch.")
def expire_orders(limit: int) -> None:
    """Cancel the PaymentIntents of orders unpaid after 24 hours and mark them expired (D8).

    It is safe to run on several machines at once (rows are taken with SKIP LOCKED).
    """
    click.echo(jobs.expire_orders(limit=limit))


idempotency_cli = AppGroup("idempotency", help="Maintain idempotency keys.")


@idempotency_cli.command("purge")
def purge_idempotency_keys() -> None:
    """Forget Idempotency-Keys older than 48 hours (the contract keeps them for 24 at least)."""
    click.echo(jobs.purge_idempotency_keys())


events_cli = AppGroup("events", help="Produce and deliver the notices to subscribers (the outbox).")


@events_cli.command("schedule")
def schedule_notices() -> None:
    """Produce the time-based notices due now (expiring, expired, window closing).

    Each is produced once per license and term, however often this runs and on however
    many machines; the worker runs it every minute.
    """
    click.echo(jobs.schedule_notices())


@events_cli.command("deliver")
@click.option(
    "--limit", default=500, show_default=True, help="Make at most this many deliveries per run."
)
def deliver_notices(limit: int) -> None:
    """Send subscribers the notices that are due, retrying with backoff for 24 hours.

    A delivery still failing after 24 hours is dead-lettered. It is safe to run on several
    machines at once (rows are taken FOR UPDATE SKIP LOCKED).
    """
    click.echo(jobs.deliver_notices(limit=limit))


emails_cli = AppGroup("emails", help="Send the email outbox to customers over SMTP (D25).")


@emails_cli.command("deliver")
@click.option("--limit", default=500, show_default=True, help="Send at most this many emails.")
def deliver_emails(limit: int) -> None:
    """Send the emails that are due over SMTP_URL, retrying with backoff for 24 hours.

    Each email is sent at most once (marked sent in the transaction that sends it); one
    still failing after 24 hours is dead-lettered. Safe on several machines at once.
    """
    click.echo(jobs.deliver_emails(limit=limit))


@emails_cli.command("dead-letters")
@click.option("--limit", default=100, show_default=True)
def list_dead_emails(limit: int) -> None:
    """List the emails given up on: id, when, recipient, subject and the last error (an email
    that could not be rendered has no subject yet)."""
    for email in emails.dead_letters(limit=limit):
        click.echo(
            f"{email.id}\t{email.dead_at:%Y-%m-%dT%H:%M:%SZ}\t{email.recipient}\t"
            f"{email.subject or '(not rendered)'}\t{email.last_error}"
        )


@emails_cli.command("retry")
@click.argument("email_id", type=int)
def retry_dead_email(email_id: int) -> None:
    """Give a dead-lettered email another 24 hours of attempts, from now."""
    try:
        email = emails.retry_dead_letter(email_id, now=utcnow())
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"email {email.id} is pending again")


@click.command("demo-data")
@click.option(
    "--licenses",
    "count",
    type=click.IntRange(1, 5_000_000),
    required=True,
    help="Create this many licenses.",
)
@click.option(
    "--seed",
    default=42,
    show_default=True,
    help="Use this seed; the same seed gives the same data.",
)
@click.option("--if-empty", is_flag=True, help="Do nothing when licenses already exist.")
def demo_data(count: int, seed: int, if_empty: bool) -> None:
    """Fill the database with licenses, years of their renewals and refunds, their purchase
    orders and some paid work, reproducibly."""
    if if_empty and demo.has_licenses():
        click.echo("licenses exist already; no demo data added")
        return
    summary = demo.generate(licenses=count, seed=seed, now=utcnow())
    click.echo(
        f"added {summary.customers} customers, {summary.licenses} licenses, "
        f"{summary.renewals} renewals ({summary.refunded} refunded), "
        f"{summary.purchases} purchase orders, {summary.work} paid work orders"
    )


@click.command("worker")
def worker() -> None:
    """Run every periodic job on its interval until SIGTERM or SIGINT, then exit 0.

    Order expiry, notice scheduling and delivery, idempotency purge (intervals:
    WORKER_<JOB>_SECONDS). Run one or more per deployment; each piece of work is done once.
    """
    from licensing.worker import run_worker

    run_worker(current_app._get_current_object())  # type: ignore[attr-defined]


def register(app: Flask) -> None:
    for group in (
        api_keys_cli,
        orders_cli,
        idempotency_cli,
        events_cli,
        emails_cli,
        signing_keys_cli,
    ):
        app.cli.add_command(group)
    app.cli.add_command(demo_data)
    app.cli.add_command(worker)
