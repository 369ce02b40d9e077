"""Sending one email over SMTP (standard library only): `SMTP_URL` says where, `MAIL_FROM`
who from.

Two callers: the sign-in link, sent at once by the page that asks for it, and the outbox
(`services/emails.py`), which sends what the notices produced. Nothing here logs: neither
the server's credentials nor a message body (a sign-in link is a credential too).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol
from urllib.parse import unquote, urlsplit

TIMEOUT_SECONDS = 10
SCHEMES = {"smtp": 25, "smtps": 465}
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class MailNotSent(Exception):
    """The server did not take the message; the text says why (never a credential, but it
    may quote the server's reply, which can name the recipient). `cause` (the failure's
    class) and `smtp_code` are what a log line may carry."""

    def __init__(self, text: str, *, cause: str = "MailNotSent", smtp_code: int | None = None):
        super().__init__(text)
        self.cause = cause
        self.smtp_code = smtp_code


@dataclass(frozen=True)
class OutgoingMail:
    """One message: a plain-text part and, when there is one, an HTML alternative."""

    to: str
    subject: str
    text: str
    html: str | None = None
    message_id: str | None = None  # stable per outbox row, so a receiver can spot a repeat


class Mailer(Protocol):
    def send(self, mail: OutgoingMail) -> None:
        """Hand the message to the server; raises MailNotSent when it is not accepted."""
        ...


@dataclass(frozen=True)
class SmtpServer:
    """Where `SMTP_URL` points: `smtp://[user:pass@]host:port`, `smtps://` for TLS."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # the password never reaches a log line or a traceback
        return f"SmtpServer(host={self.host!r}, port={self.port}, tls={self.tls})"

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """Parse `SMTP_URL`; ValueError (without the password) when it cannot be used."""
        parts = urlsplit(url.strip())
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://[user:pass@]host:port or smtps://...")
        try:
            port = parts.port or SCHEMES[parts.scheme]
        except ValueError:
            raise ValueError("SMTP_URL has a port that is not a number") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=parts.scheme == "smtps",
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def compose(mail: OutgoingMail, *, sender: str) -> EmailMessage:
    """The MIME message: multipart/alternative with text first, HTML second (RFC 2046)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = mail.message_id or make_msgid(domain="licensing.local")
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    return message


class SmtpMailer:
    """One SMTP connection per message: the volumes are small, and a fresh connection never
    carries a failure from one message into the next."""

    def __init__(self, server: SmtpServer, *, sender: str) -> None:
        self.server = server
        self.sender = sender

    @classmethod
    def from_settings(cls, smtp_url: str, mail_from: str) -> SmtpMailer:
        return cls(SmtpServer.from_url(smtp_url), sender=mail_from)

    def send(self, mail: OutgoingMail) -> None:
        try:
            message = compose(mail, sender=self.sender)  # ValueError: a header cannot be sent
            with self._connect() as smtp:
                if self.server.username:
                    self._log_in(smtp)
                refused = smtp.send_message(message)
        except smtplib.SMTPException as error:
            code = getattr(error, "smtp_code", None)
            cause = type(error).__name__
            raise MailNotSent(_reason(error), cause=cause, smtp_code=code) from None
        except (OSError, ValueError) as error:
            cause = type(error).__name__
            raise MailNotSent(f"{cause}: {error}"[:500], cause=cause) from None
        if refused:
            text = f"recipient refused: {sorted(refused)}"[:500]
            raise MailNotSent(text, cause="RecipientRefused") from None

    def send_now(self, *, to: str, subject: str, text: str, html: str | None = None) -> None:
        """Send one message immediately (the sign-in link: it cannot wait for the worker)."""
        self.send(OutgoingMail(to=to, subject=subject, text=text, html=html))

    def _log_in(self, smtp: smtplib.SMTP) -> None:
        """On `smtp://`, upgrade to TLS (STARTTLS) before the password is sent; a server
        that cannot is refused unless it is on this machine."""
        if not self.server.tls:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            elif self.server.host not in LOOPBACK:
                raise MailNotSent(
                    "the SMTP server offers no STARTTLS; the password is not sent in clear "
                    "(use smtps:// or a server with STARTTLS)"
                )
        smtp.login(self.server.username or "", self.server.password or "")

    def _connect(self) -> smtplib.SMTP:
        host, port = self.server.host, self.server.port
        if self.server.tls:
            context = ssl.create_default_context()
            return smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=context)
        return smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)


def _reason(error: smtplib.SMTPException) -> str:
    """The server's code and reply, which name no credential (smtplib's own text neither)."""
    code = getattr(error, "smtp_code", None)
    reply = getattr(error, "smtp_error", b"")
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    detail = f"{code} {reply}".strip() if code else str(error)
    return f"{type(error).__name__}: {detail}"[:500]
