"""The email outbox (D25): one row per message to send, written with the change it tells of."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from licensing.adapters.models.base import one_of
from licensing.adapters.types import BigId, UTCDateTime
from licensing.domain.emails import SUBJECT_LENGTH
from licensing.extensions import db


class EmailStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"


class Email(db.Model):
    """One message, written with its cause and sent by `emails deliver`.

    `cause_key` names what it comes from (`notice:<id>` for a notice) and is unique, so a
    cause mails at most once however often the code that writes it runs.

    A notice's email is written without its words (`subject` and `text_body` NULL, migration
    0020): the first attempt to send it renders it as of the notice's day and keeps it here,
    so every retry sends the same message. `recipient` is the owner's address when the row was
    written, then the one each attempt sent to (the customer's address at that moment).
    """

    __tablename__ = "emails"
    __table_args__ = (
        CheckConstraint(one_of("status", EmailStatus), name="status_known"),
        Index("ix_emails_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    cause_key: Mapped[str] = mapped_column(String(120), unique=True)
    notice_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("notices.id"), unique=True)
    customer_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(String(SUBJECT_LENGTH))
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    first_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
