"""D3: a license's domain is stored normalized; anything that is not a public host is refused."""

from __future__ import annotations

import ipaddress
import re

import idna
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from licensing.domain.domains import _PLAIN_NAME, _normalize_any, normalize_domain
from licensing.domain.errors import Invalid

FAST = settings(database=None, deadline=None)
LONG_LABEL = "a" * 64
NAME_OF_254_OCTETS = ".".join(["a" * 63] * 3 + ["b" * 62])
NAME_OF_253_OCTETS = NAME_OF_254_OCTETS[1:]


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("Пример.рф", "xn--e1afmkfd.xn--p1ai"),
        ("https://WWW.Shop.Example.com:8080/path?q=1", "shop.example.com"),
        ("example.com.", "example.com"),
        ("  Example.COM  ", "example.com"),
        ("www.example.com", "example.com"),
        ("www.com", "www.com"),  # a leading www. goes only if two labels remain
        ("www.www.example.com", "example.com"),
        ("BÜCHER.de", "xn--bcher-kva.de"),
        ("xn--e1afmkfd.xn--p1ai", "xn--e1afmkfd.xn--p1ai"),
        ("example。com", "example.com"),  # an ideographic full stop is a dot in IDNA
        ("example.com/", "example.com"),
        ("example.com:8443", "example.com"),
        ("user:secret@Example.com:8443/admin", "example.com"),
        ("ftp://files.example.org", "files.example.org"),
        ("http://www.example.co.uk/#top", "example.co.uk"),
        ("my-shop2.example", "my-shop2.example"),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
        (NAME_OF_253_OCTETS, NAME_OF_253_OCTETS),
    ],
)
def test_d3_normalizes_domains_and_urls(raw: str, normalized: str) -> None:
    assert normalize_domain(raw) == normalized


REJECTED = [
    "localhost",
    "shop.localhost",
    "http://localhost:5000/",
    "127.0.0.1",
    "http://127.0.0.1/",
    "127.1",
    "10.0.0.1:8080",
    "::1",
    "[::1]",
    "http://[2001:db8::1]:8080/",
    "exa mple.com",
    LONG_LABEL + ".com",
    "",
    "   ",
    "com",
    "a_b.com",
    "http://",
    "https:///path",
    NAME_OF_254_OCTETS,
    "a..b",
    ".example.com",
    "example.com..",
    "-shop.example.com",
    "shop-.example.com",
    "shop!.example.com",
    "exa\tmple.com",
    "example.com\x00",
    "http://example.com:99999/",
    "http://example.com:port/",
    "ab--cd.example.com",
    "xn--zz.example.com",
]


@pytest.mark.parametrize("field", ["domain", "new_domain"])
@pytest.mark.parametrize("raw", REJECTED)
def test_d3_rejects_what_is_not_a_public_host_name_naming_the_field(raw: str, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        normalize_domain(raw, field=field)
    assert caught.value.code == "DOMAIN_INVALID"
    assert list(caught.value.errors) == [field]
    assert caught.value.errors[field] == [caught.value.detail]


@pytest.mark.parametrize("raw", [None, 42, b"example.com", ["example.com"]])
def test_d3_rejects_non_text(raw: object) -> None:
    with pytest.raises(Invalid) as caught:
        normalize_domain(raw)  # type: ignore[arg-type]
    assert caught.value.errors == {"domain": [caught.value.detail]}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (LONG_LABEL + ".com", "label is longer than 63 characters"),
        (NAME_OF_254_OCTETS, "longer than 253 characters"),
        ("127.0.0.1", "IP address"),
        ("[::1]", "IP address"),
        ("localhost", "localhost"),
        ("com", "at least two labels"),
        ("a_b.com", "letters, digits, hyphens"),
        ("exa mple.com", "spaces"),
        ("a..b", "empty label"),
        ("-a.com", "hyphen"),
        ("", "required"),
        ("http://", "has no host name"),
    ],
)
def test_d3_the_message_says_why(raw: str, reason: str) -> None:
    with pytest.raises(Invalid, match=re.escape(reason)):
        normalize_domain(raw)


# Hostname generation: ASCII and Unicode labels (upper case included), then URL decorations.
UNICODE_LETTERS = "абвгдежзийклмнопрстуфхцчшщэюяАБВГДЕЖЗИКЛМНäöüéèçñÄÖÜÉßαβγδεζΑΒΓ日本語中文"
ascii_labels = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,14}[a-zA-Z0-9])?", fullmatch=True)
unicode_labels = st.text(alphabet=UNICODE_LETTERS, min_size=1, max_size=10)
labels = st.one_of(ascii_labels, ascii_labels, unicode_labels)
top_levels = st.one_of(st.from_regex(r"[a-zA-Z]{2,6}", fullmatch=True), unicode_labels)
hosts = st.builds(
    lambda inner, top: ".".join([*inner, top]), st.lists(labels, min_size=1, max_size=3), top_levels
)


@st.composite
def decorated_hosts(draw: st.DrawFn, host: str) -> str:
    """`host` as a user might paste it: www., trailing dot, URL parts, padding."""
    text = ("www." if draw(st.booleans()) else "") + host + ("." if draw(st.booleans()) else "")
    if draw(st.booleans()):
        text = draw(st.sampled_from(["", "user@", "user:pass@"])) + text
        text = draw(st.sampled_from(["http://", "https://", "HTTPS://", "ftp://"])) + text
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda number: f":{number}")))
    path = draw(st.sampled_from(["", "/", "/shop/cart", "?q=1", "/a?b=c#top"]))
    padding = draw(st.sampled_from(["", " ", " \t "]))
    return padding + text + port + path + padding


def outcome(raw: object) -> str | type[Invalid]:
    try:
        return normalize_domain(raw)  # type: ignore[arg-type]
    except Invalid:
        return Invalid


@FAST
@given(st.one_of(hosts, hosts.flatmap(decorated_hosts)))
def test_d3_normalize_domain_is_idempotent(raw: str) -> None:
    normalized = outcome(raw)
    if normalized is not Invalid:
        assert normalize_domain(normalized) == normalized  # type: ignore[arg-type]


@FAST
@given(hosts.flatmap(lambda host: st.tuples(st.just(host), decorated_hosts(host))))
def test_d3_a_url_or_www_form_normalizes_like_its_bare_host(pair: tuple[str, str]) -> None:
    host, decorated = pair
    assert outcome(decorated) == outcome(host)


LDH_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")


def is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def satisfies_d3(name: str) -> bool:
    """An independent reading of D3 for a stored, normalized domain."""
    parts = name.split(".")
    return (
        name.isascii()
        and name == name.lower()
        and len(name) <= 253
        and len(parts) >= 2
        and all(LDH_LABEL.fullmatch(part) for part in parts)
        and not parts[-1].isdigit()
        and not is_ip_address(name)
        and parts[-1] != "localhost"
        and not (parts[0] == "www" and len(parts) > 2)
        and idna.encode(idna.decode(name)).decode("ascii") == name
    )


domainy_text = st.text(alphabet="abcXYZ019-._:/@[]% \tÄß日\u3002\uff0e", max_size=40)


@FAST
@given(st.one_of(st.text(), domainy_text, hosts, hosts.flatmap(decorated_hosts)))
def test_d3_never_accepts_what_d3_rejects(raw: str) -> None:
    normalized = outcome(raw)
    assert normalized is Invalid or satisfies_d3(normalized)  # type: ignore[arg-type]


@FAST
@given(st.ip_addresses())
def test_d3_ip_addresses_are_refused_bare_and_in_urls(address: ipaddress._BaseAddress) -> None:
    literal = f"[{address}]" if address.version == 6 else str(address)
    for raw in (str(address), literal, f"http://{literal}:8080/"):
        assert outcome(raw) is Invalid


def _answer(normalize, raw: object) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    try:
        return "ok", normalize(raw)
    except Invalid as error:
        return "refused", str(error.errors)


plain_names = st.from_regex(_PLAIN_NAME, fullmatch=True)
near_plain = st.lists(
    st.text(alphabet="abcxyzw019-.", min_size=1, max_size=12), min_size=1, max_size=5
).map(".".join)


@FAST
@given(st.one_of(plain_names, near_plain, st.sampled_from(["www.www.a.com", "a.localhost"])))
def test_d3_a_plain_name_is_answered_as_any_other_input_is(raw: str) -> None:
    """Issue 20: names already in D3's form skip the IDNA work; the answer is the same."""
    assert _answer(normalize_domain, raw) == _answer(
        lambda text: _normalize_any(text, "domain"), raw
    )
