"""Structured logs: one JSON object per line, with the request id when there is one, and no
license key, token, client secret or API key in any field (`RedactSecrets`)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from licensing.domain.license_keys import canonical_license_key

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

REDACTED = "[redacted]"
_A = "A-Za-z0-9"  # a letter or a digit; a secret begins where none precedes it


def _rule(
    markers: tuple[str, ...], pattern: str, flags: int = 0
) -> tuple[tuple[str, ...], re.Pattern[str]]:
    """A pattern whose group `kept` stays; it runs only on a string holding one of `markers`
    (in lower case), so that the lines without any cost a few substring tests."""
    return markers, re.compile(pattern, flags)


# In this order: a whole credential first, then the secrets it might hold.
_RULES = (
    _rule(("bearer",), r"(?P<kept>\bBearer\s+)[^\s\"',;]+", re.IGNORECASE),
    # This service's API keys, lk_<public id>_<secret>: the public id names the key.
    _rule(("lk_",), rf"(?<![{_A}])(?P<kept>lk_[{_A}]+_)[{_A}_-]+"),
    # Stripe client secrets (pi_..._secret_..., seti_..., cs_...): the id is no secret.
    _rule(("_secret_",), rf"(?<![{_A}])(?P<kept>[a-z]+_[{_A}]+_secret_)[{_A}]+"),
    # Stripe secret, restricted and webhook signing keys.
    _rule(("sk_", "rk_", "whsec_"), rf"(?<![{_A}])(?P<kept>sk_|rk_|whsec_)[{_A}_]+"),
    # Anything after /v1/licenses/ up to the next slash, query or quote (a key may be typed
    # with spaces), but the routes beside the key's and route templates.
    _rule(
        ("licenses/",),
        r"(?P<kept>/v1/+licenses/+)"
        r"(?!(?:validate|import|certificate)(?![\w-])|<\w+(?::\w+)?>)"
        r"(?:(?!\sHTTP/)[^/?#\"'\\\r\n])+",
    ),
    # Query-string (or key=value) values of token, key, secret, signature, password, also at
    # the end of a name (client_secret, api_key, accesstoken).
    _rule(
        ("=",),
        r"(?P<kept>(?:token|key|secret|signature|password)=)[^&#\s\"';,]+",
        re.IGNORECASE,
    ),
    # The HMAC of a Stripe-Signature or Licensing-Signature header.
    _rule(("v0=", "v1="), r"(?P<kept>\bv[01]=)[0-9a-f]{16,}"),
    # A signed link's token (itsdangerous, JWT): base64 of a JSON object, then its MAC.
    _rule(("eyj",), rf"(?<![{_A}_-])(?P<kept>)eyJ[{_A}_-]+\.[{_A}_.-]+"),
)
_ANY_MARKER = re.compile("|".join(re.escape(m) for markers, _ in _RULES for m in markers))
# D6 license keys: every run of 25 or more letters, digits and hyphens is looked at closely.
_KEY_RUN = re.compile(rf"[{_A}-]{{25,}}")
_KEYS = re.compile(
    # In groups of five: always; with some or no hyphens: only when the check symbol holds.
    rf"(?<![{_A}])[{_A}]{{5}}(?:-[{_A}]{{5}}){{4,}}(?![{_A}])"
    rf"|(?<![{_A}])(?P<loose>[{_A}]{{5}}(?:-?[{_A}]{{5}}){{4}})(?![{_A}])"
)
_KEY_SYMBOLS = 25
_NAMED_FIELD = re.compile(r"%\(([^)]*)\)")


def _replace_license_key(match: re.Match[str]) -> str:
    loose = match.group("loose")
    if loose is not None and canonical_license_key(loose) is None:
        return loose  # 25 letters and digits that are no license key
    return REDACTED


def _license_keys_in(run: re.Match[str]) -> str:
    text = run.group()
    if "-" not in text:  # one word: a key only if it is exactly one
        if len(text) != _KEY_SYMBOLS or canonical_license_key(text) is None:
            return text
        return REDACTED
    return _KEYS.sub(_replace_license_key, text)


def redact(text: str) -> str:
    """`text` with every license key, token, client secret and API key secret replaced."""
    lowered = text.lower()
    if _ANY_MARKER.search(lowered):
        for markers, pattern in _RULES:
            for marker in markers:
                if marker in lowered:
                    text = pattern.sub(rf"\g<kept>{REDACTED}", text)
                    break
    return _KEY_RUN.sub(_license_keys_in, text)


def _redact_value(value: Any) -> Any:
    """Strings redacted, containers rebuilt, anything else turned into its redacted text only
    when that text would have shown a secret (so `%d` and `%r` keep working otherwise)."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {_redact_value(k): _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return type(value)(_redact_value(item) for item in value)
    try:
        text = str(value)
    except Exception:
        return value
    redacted = redact(text)
    return value if redacted == text else redacted


def _redact_mapping(args: dict[Any, Any], msg: object) -> None:
    """In place, so that gunicorn's SafeAtoms keep their lookups: only the fields the message
    names (gunicorn passes every header and environ variable, and finds `{Header}i` in lower
    case), or all of them when it names none."""
    named = _NAMED_FIELD.findall(msg) if isinstance(msg, str) else []
    keys = {key for name in named for key in (name, name.lower())} if named else list(args)
    for key in keys:
        if key in args:
            args[key] = _redact_value(args[key])


class RedactSecrets(logging.Filter):
    """Redacts secrets by pattern in a record's message, arguments, extra fields, exception
    and stack text; never drops a record. Install it on handlers (a logger's own filters
    never see its children's records) or on the loggers that log directly, as gunicorn's do."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redact_value(record.msg)
        if isinstance(record.args, dict):
            _redact_mapping(record.args, record.msg)
        elif record.args:
            record.args = _redact_value(record.args)
        for name in vars(record).keys() - _STANDARD:
            setattr(record, name, _redact_value(getattr(record, name)))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redaction(target: logging.Logger | logging.Handler) -> None:
    """The one redacting filter on a logger or handler, once."""
    if not any(isinstance(f, RedactSecrets) for f in target.filters):
        target.addFilter(RedactSecrets())


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry |= {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if record.exc_info or record.exc_text:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging() -> None:
    """JSON lines on standard error for the service's own loggers, redacted; gunicorn's
    loggers get the same filter from `licensing.gunicorn_config`."""
    logger = logging.getLogger("licensing")
    # Werkzeug's development server logs each request line, query string included.
    install_redaction(logging.getLogger("werkzeug"))
    if any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    install_redaction(handler)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = True
