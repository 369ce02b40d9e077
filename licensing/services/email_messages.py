"""What a notice's email says (D25): rendered from templates/email/ by the worker that sends
it (`services/emails.py`), as of the notice's own day: the license as the notice recorded it
(its key, domain, edition and `updates_until`, from the notice's facts) and the renewal rate
and price of the day the notice was made (`created_at`), from the renewal rules
(domain/renewals.py). So the message is the one the notice's transaction would have rendered,
and a delivery retried a day later says what the first attempt would have said.

What the notice does not record is read when the message is rendered: the customer's name,
the edition's name and its list price (D13: a renewal is priced from the list price of the
day it is paid; a list price changed between a notice and the first attempt to mail it shows
the new one). The first rendering is kept in the outbox row and every retry sends it as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import select

from licensing.adapters.models import Customer, Edition, License, Notice
from licensing.domain.emails import (
    ACCOUNT_PATH,
    REMINDERS,
    Reminder,
    format_day,
    format_instant,
    format_money,
    subject,
)
from licensing.domain.notices import NoticeType
from licensing.domain.renewals import quote
from licensing.extensions import db

# HTML parts are autoescaped (a customer's name or a domain is data, never markup); the
# plain-text parts are not HTML, so they are left as written.
_TEMPLATES = Environment(
    loader=PackageLoader("licensing", "templates/email"),
    autoescape=select_autoescape(["html"], default=False),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_TEMPLATES.filters.update(day=format_day, instant=format_instant)


class NotRenderable(Exception):
    """A notice's email cannot be rendered (its notice, license, customer or edition is gone,
    or its facts do not make a message); the text says which, never a name or an address."""


@dataclass(frozen=True)
class NoticedLicense:
    """The license as its notice saw it: the facts the notice recorded, the rest (the
    support end, fixed at purchase) from the license."""

    key: str
    domain: str
    edition_code: str
    updates_until: datetime
    support_until: datetime


@dataclass(frozen=True)
class Message:
    """A rendered email: its subject, plain-text part and HTML part."""

    subject: str
    text: str
    html: str


def noticed_license(notice: Notice, license: License) -> NoticedLicense:
    """`license` as `notice` recorded it (services/notices.license_facts)."""
    data: dict[str, Any] = notice.data or {}
    until = data.get("updates_until")
    return NoticedLicense(
        key=data.get("license_key", license.key),
        domain=data.get("domain", license.domain),
        edition_code=data.get("edition", license.edition_code),
        updates_until=_instant(until) if until else license.updates_until,
        support_until=license.support_until,
    )


def _instant(text: str) -> datetime:
    """An instant as `rfc3339` wrote it (`2026-11-24T10:00:00Z`)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def render_notice_email(
    notice_id: int | None, customer_id: int | None, *, public_url: str
) -> Message:
    """The email about notice `notice_id` to customer `customer_id` (the owner the notice
    was written for, whom the email goes to, even if the license has changed hands since),
    as of the notice's day; NotRenderable when what it needs is gone or does not make a
    message (the outbox counts that as a failed attempt)."""
    found = None
    if notice_id is not None and customer_id is not None:
        found = db.session.execute(
            select(Notice, License, Customer)
            .join(License, License.id == Notice.license_id)
            .join(Customer, Customer.id == customer_id)
            .where(Notice.id == notice_id)
        ).one_or_none()
    if found is None:
        raise NotRenderable("could not be rendered: its notice, license or customer is gone")
    notice, license, customer = found
    noticed = noticed_license(notice, license)
    edition = db.session.get(Edition, noticed.edition_code)
    if edition is None:
        raise NotRenderable("could not be rendered: its edition is gone")
    try:
        return notice_message(
            notice, noticed, customer, edition, public_url=public_url, now=notice.created_at
        )
    except Exception as error:  # a template, a date or a rule that fails: one failed attempt
        raise NotRenderable(f"could not be rendered: {type(error).__name__}") from error


def reminder(license: License | NoticedLicense, edition: Edition, *, now: datetime) -> Reminder:
    """The renewal as it stands at `now` (rate, price from today's list price, D13) and what
    it costs once the preferential window has closed; both from the renewal rules."""
    today = quote(
        current_updates_until=license.updates_until, list_price=edition.price_amount, at=now
    )
    after = quote(
        current_updates_until=license.updates_until,
        list_price=edition.price_amount,
        at=today.preferential_until + timedelta(seconds=1),
    )
    return Reminder(
        rate=today.rate.value,
        percent=today.percent,
        price=format_money(today.price, edition.currency),
        preferential_until=today.preferential_until,
        standard_price=format_money(after.price, edition.currency),
    )


def notice_message(
    notice: Notice,
    license: License | NoticedLicense,
    customer: Customer,
    edition: Edition,
    *,
    public_url: str,
    now: datetime,
) -> Message:
    """The email to a license's owner about one notice, with a link to their account page,
    where they can renew, move the domain or download the certificate."""
    notice_type = NoticeType(notice.type)
    context = {
        "type": notice_type.value,
        "customer": customer,
        "license": license,
        "edition": edition,
        "data": notice.data,
        "account_url": f"{public_url}{ACCOUNT_PATH}",
        "reminder": reminder(license, edition, now=now) if notice_type in REMINDERS else None,
    }
    return Message(
        subject=subject(notice_type, domain=license.domain, edition=edition.name, data=notice.data),
        text=_TEMPLATES.get_template("notice.txt").render(context),
        html=_TEMPLATES.get_template("notice.html").render(context),
    )
