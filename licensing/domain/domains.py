"""D3: the normalized domain a license is bound to, or a clear reason why the input is not one."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

import idna

from licensing.domain.errors import Invalid

DOMAIN_INVALID = "DOMAIN_INVALID"
MAX_NAME_OCTETS = 253
MAX_LABEL_OCTETS = 63

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_URL_MARKERS = frozenset("/?#@:[]")
_IDNA_DOTS = re.compile("[.\u3002\uff0e\uff61]")  # the dots IDNA treats as label separators
_ASCII_ALLOWED = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
_LDH_LABEL = re.compile(r"[a-z0-9-]+")
# WHATWG URL parsing reads a host whose last label is a number (or 0x-hex) as an IPv4 address.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")
# A name already in D3's form: lower-case letters, digits and inner hyphens, no `xn--` nor
# other '--' in a label's third and fourth places, a last label that starts with a letter (so
# never an IP address). Most shops send exactly this; it needs none of the work below (issue
# 20), and `normalize_domain` gives it the same answer either way (a property test says so).
_PLAIN_NAME = re.compile(
    r"(?!(?:.*\.)?..--)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?"
)
EMPTY_LABEL = "The domain has an empty label (two dots in a row, or a leading dot)."
IP_ADDRESS = "The domain is an IP address; a license is bound to a domain name."


def _reject(field: str, message: str) -> Invalid:
    return Invalid.field(field, message, code=DOMAIN_INVALID)


def normalize_domain(raw: str, *, field: str = "domain") -> str:
    """D3: trimmed, lower-cased, IDNA (UTS-46) ASCII, no trailing dot, no leading `www.`.

    A URL (a `scheme://`, or a path, query, port or `user:pass@`) is reduced to its host.
    Leading `www.` labels are removed only while at least two labels remain, so `www.com`
    (a real site) stays `www.com` and `www.www.example.com` becomes `example.com`; this
    keeps the function idempotent. Anything else D3 rejects raises `Invalid` with code
    DOMAIN_INVALID and `errors` naming `field`.
    """
    if isinstance(raw, str) and len(raw) <= MAX_NAME_OCTETS and _PLAIN_NAME.fullmatch(raw):
        labels = raw.split(".")
        if labels[-1] != "localhost":  # the one rule of `_check_labels` such a name can break
            return _without_www(labels)
    return _normalize_any(raw, field)


def _normalize_any(raw: object, field: str) -> str:
    """`normalize_domain` for any input: trimmed, reduced to a URL's host, IDNA-encoded."""
    text = _trimmed_text(raw, field)
    _reject_ip_address(text, field)
    host = _host_of(text, field) if _looks_like_url(text) else text
    _reject_ip_address(host, field)
    labels = _ascii_labels(host, field)
    _check_labels(labels, field)
    return _without_www(labels)


def _without_www(labels: list[str]) -> str:
    """D3: leading `www.` labels dropped while two labels remain."""
    while labels[0] == "www" and len(labels) > 2:
        labels = labels[1:]
    return ".".join(labels)


def _trimmed_text(raw: object, field: str) -> str:
    """D3: a non-blank string without inner spaces or control characters."""
    if not isinstance(raw, str):
        raise _reject(field, "The domain must be text, such as example.com.")
    text = raw.strip()
    if not text:
        raise _reject(field, "A domain name such as example.com is required.")
    if any(ch.isspace() for ch in text):
        raise _reject(field, "The domain must not contain spaces or other whitespace.")
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        raise _reject(field, "The domain must not contain control characters.")
    return text


def _looks_like_url(text: str) -> bool:
    return bool(_SCHEME.match(text)) or any(ch in _URL_MARKERS for ch in text)


def _host_of(text: str, field: str) -> str:
    """D3: the host of a URL, with or without its scheme, user info, port, path or query."""
    try:
        parts = urlsplit(text if _SCHEME.match(text) else f"//{text}")
        host = parts.hostname
        parts.port  # noqa: B018 -- raises ValueError on a malformed or out-of-range port
    except ValueError as error:
        raise _reject(field, f"The domain is not a valid URL or domain name ({error}).") from error
    if not host:
        raise _reject(field, "The URL has no host name; enter a domain name such as example.com.")
    if "[" in parts.netloc:  # only IP literals are written in brackets
        raise _reject(field, IP_ADDRESS)
    return host


def _reject_ip_address(host: str, field: str) -> None:
    """D3: an IPv4 or IPv6 address is not a domain."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    raise _reject(field, IP_ADDRESS)


def _ascii_labels(host: str, field: str) -> list[str]:
    """D3: the IDNA (UTS-46) ASCII labels of `host`, without its trailing dot."""
    labels = _IDNA_DOTS.split(host)
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # a single trailing dot is the DNS root, not an empty label
    _precheck_ascii(labels, field)
    name = ".".join(labels)
    if name.isascii() and len(name) > MAX_NAME_OCTETS:
        raise _reject(field, f"The domain name is longer than {MAX_NAME_OCTETS} characters.")
    try:
        encoded = idna.encode(name, uts46=True).decode("ascii")
    except UnicodeError as error:  # idna.IDNAError is a UnicodeError
        message = f"The domain is not a valid internationalized domain name ({error})."
        raise _reject(field, message) from error
    return encoded.split(".")


def _precheck_ascii(labels: list[str], field: str) -> None:
    """D3: clear messages for the common mistakes before IDNA gives a terse one."""
    for label in labels:
        if not label:
            raise _reject(field, EMPTY_LABEL)
        stray = next((ch for ch in label if ch.isascii() and ch not in _ASCII_ALLOWED), None)
        if stray is not None:
            message = (
                "A domain name may contain only letters, digits, hyphens and dots "
                f"(found {stray!r})."
            )
            raise _reject(field, message)
        if label.isascii():
            _check_label_shape(label, field)
        if label[2:4] == "--" and not label.lower().startswith("xn--"):
            raise _reject(
                field, "Only an xn-- label may have '--' as its third and fourth characters."
            )


def _check_label_shape(label: str, field: str) -> None:
    """D3: a label has 1-63 octets of letters, digits and inner hyphens."""
    if len(label) > MAX_LABEL_OCTETS:
        raise _reject(field, f"A domain label is longer than {MAX_LABEL_OCTETS} characters.")
    if label.startswith("-") or label.endswith("-"):
        raise _reject(field, "A domain label must not start or end with a hyphen.")


def _check_labels(labels: list[str], field: str) -> None:
    """D3: the encoded name is a public host name, not an address or a local name."""
    if any(not label for label in labels):
        raise _reject(field, EMPTY_LABEL)
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        raise _reject(
            field, "The domain looks like an IP address; a license is bound to a domain name."
        )
    if labels[-1] == "localhost":
        raise _reject(
            field, "The name localhost is local to one machine; enter the site's public domain."
        )
    if len(labels) < 2:
        raise _reject(field, "The domain must have at least two labels, such as example.com.")
    for label in labels:
        if not _LDH_LABEL.fullmatch(label):
            raise _reject(
                field, "A domain name may contain only letters, digits, hyphens and dots."
            )
        _check_label_shape(label, field)
    if len(".".join(labels)) > MAX_NAME_OCTETS:
        raise _reject(field, f"The domain name is longer than {MAX_NAME_OCTETS} characters.")
