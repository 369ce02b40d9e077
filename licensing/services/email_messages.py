"""What a notice's email says (D25): rendered from templates/email/ when the notice is
written, with the renewal price of that moment from the renewal rules (domain/renewals.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

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


@dataclass(frozen=True)
class Message:
    """A rendered email: its subject, plain-text part and HTML part."""

    subject: str
    text: str
    html: str


def reminder(license: License, edition: Edition, *, now: datetime) -> Reminder:
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
    license: License,
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
