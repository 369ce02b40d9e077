"""Sign-in links (D24): each one a row, so that it signs in once and only within 15 minutes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from licensing.adapters.types import BigId, UTCDateTime
from licensing.extensions import db


class SignInLink(db.Model):
    """A link mailed to a customer: for whom, when it lapses, and when it was used (null until
    then; set once, by a conditional update, so two clicks cannot both sign in); and when the
    session it opened was ended by signing out (the cookie alone cannot be taken back)."""

    __tablename__ = "sign_in_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(BigId, ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    session_ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
