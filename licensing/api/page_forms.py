"""Reading the pages' form fields: each error is kept by field name, so the page shows it next
to its field (linked with aria-describedby), and nothing is written until all are valid."""

from __future__ import annotations

import unicodedata
from email.errors import HeaderParseError, MessageDefect
from email.headerregistry import Address

import marshmallow as ma
from flask import request

from licensing.domain.domains import normalize_domain
from licensing.domain.errors import Invalid

# The API's rule (marshmallow's Email, as `EmailAddress` in api/fields.py), then the mail
# header's: the address stored must be the very address mail is sent to.
_EMAIL = ma.validate.Email()
MAX_EMAIL = 254


class FormErrors(dict[str, str]):
    """Field name -> the one message shown beside it."""


def text_field(name: str, errors: FormErrors, *, label: str, max_length: int) -> str:
    value = request.form.get(name, "").strip()
    if not value:
        errors[name] = f"Enter your {label}."
    elif len(value) > max_length or any(unicodedata.category(c) == "Cc" for c in value):
        # Control characters (CR, LF, TAB, NUL...) too: a name is written into emails.
        errors[name] = f"Your {label} must be one line of at most {max_length} characters."
    return value


def email_field(errors: FormErrors) -> str:
    value = request.form.get("email", "").strip()
    if len(value) > MAX_EMAIL or not _is_email(value):
        errors["email"] = "Enter an email address like name@example.com."
    return value


def _is_email(value: str) -> bool:
    """The API's rule, and an address a mail header carries unchanged (no `<`, `"`, `(`...
    that would make the stored address and the recipient differ)."""
    try:
        _EMAIL(value)
        return str(Address(addr_spec=value)) == value
    except (ma.ValidationError, ValueError, HeaderParseError, MessageDefect):
        return False


def domain_field(errors: FormErrors) -> str:
    """D3: the domain as stored; the rule's own message when it is refused."""
    value = request.form.get("domain", "")
    if "\x00" in value or len(value) > 2000:
        errors["domain"] = "Enter the domain of your shop, like shop.example.com."
        return ""
    try:
        return normalize_domain(value)
    except Invalid as invalid:
        errors["domain"] = next(iter(invalid.errors.get("domain", [str(invalid)])))
        return value.strip()
