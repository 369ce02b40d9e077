"""The tables, one module per capability; every model is importable from here.

Importing this package registers every table on `db.metadata` (migrations compare against
it) and every mapper, so relationships named by string resolve across modules.
"""

from licensing.adapters.models.access import ApiKey, IdempotencyKey
from licensing.adapters.models.accounts import Customer, CustomerEvent, Partner
from licensing.adapters.models.base import HistoryRow, JSONData
from licensing.adapters.models.catalog import Edition, Release
from licensing.adapters.models.emails import Email, EmailStatus
from licensing.adapters.models.helpdesk import Ban
from licensing.adapters.models.licenses import License, LicenseEvent
from licensing.adapters.models.notices import Delivery, Notice, Subscriber
from licensing.adapters.models.operations import JobRun
from licensing.adapters.models.orders import Order, OrderEvent, StripeEvent
from licensing.adapters.models.quotes import Quote, QuoteEvent, QuoteLine
from licensing.adapters.models.renewals import Renewal
from licensing.adapters.models.reports import ReportMonth
from licensing.adapters.models.sign_in import SignInLink

__all__ = [
    "ApiKey",
    "Ban",
    "Customer",
    "CustomerEvent",
    "Delivery",
    "Edition",
    "Email",
    "EmailStatus",
    "HistoryRow",
    "IdempotencyKey",
    "JSONData",
    "JobRun",
    "License",
    "LicenseEvent",
    "Notice",
    "Order",
    "OrderEvent",
    "Partner",
    "Quote",
    "QuoteEvent",
    "QuoteLine",
    "Release",
    "Renewal",
    "ReportMonth",
    "SignInLink",
    "StripeEvent",
    "Subscriber",
]
