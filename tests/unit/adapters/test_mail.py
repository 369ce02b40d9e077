"""The SMTP adapter against a real SMTP server (aiosmtpd): one message, both parts, no secret
in what it says when the server refuses."""

from __future__ import annotations

from typing import Any

import pytest

from licensing.adapters.mail import MailNotSent, SmtpMailer, SmtpServer
from licensing.settings import ConfigurationError, Settings
from tests.smtp import smtp_server_running


def test_send_now_delivers_text_and_html_parts(smtp_server: Any) -> None:
    mailer = SmtpMailer.from_settings(smtp_server.url, "Licensing <billing@example.com>")
    mailer.send_now(to="ann@example.com", subject="Sign in", text="Open <link>", html="<p>hi</p>")
    [message] = smtp_server.received()
    assert message["To"] == "ann@example.com"
    assert message["From"] == "Licensing <billing@example.com>"
    assert message["Subject"] == "Sign in"
    assert message.get_body(("plain",)).get_content().strip() == "Open <link>"
    assert message.get_body(("html",)).get_content().strip() == "<p>hi</p>"


def test_a_refused_message_raises_with_the_servers_reply(smtp_server: Any) -> None:
    smtp_server.refuse_with = "451 4.3.0 try again later"
    mailer = SmtpMailer.from_settings(smtp_server.url, "l@example.com")
    with pytest.raises(MailNotSent, match="451"):
        mailer.send_now(to="ann@example.com", subject="s", text="t")
    assert smtp_server.received() == []


def test_nothing_listening_is_mail_not_sent() -> None:
    mailer = SmtpMailer.from_settings("smtp://127.0.0.1:9", "l@example.com")
    with pytest.raises(MailNotSent):
        mailer.send_now(to="ann@example.com", subject="s", text="t")


def test_smtp_url_forms() -> None:
    server = SmtpServer.from_url("smtps://user%40x:p%3Ass@mail.example.com:2465")
    assert (server.host, server.port, server.tls) == ("mail.example.com", 2465, True)
    assert (server.username, server.password) == ("user@x", "p:ss")
    assert "p:ss" not in repr(server)
    assert SmtpServer.from_url("smtp://localhost").port == 25


@pytest.mark.parametrize("url", ["http://x:25", "smtp://", "smtp://u:secretpw@h:port"])
def test_a_bad_smtp_url_is_a_startup_error_that_hides_the_password(url: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_env({"SMTP_URL": url})
    assert "secretpw" not in str(raised.value)


def test_email_settings_have_development_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.smtp_url == "smtp://127.0.0.1:8025"
    assert settings.public_url == "http://127.0.0.1:8000"
    assert Settings.from_env({"PUBLIC_URL": "https://shop.example/"}).public_url == (
        "https://shop.example"
    )
    with pytest.raises(ConfigurationError, match="PUBLIC_URL"):
        Settings.from_env({"PUBLIC_URL": "shop.example"})


# A test server that takes AUTH over plain text warns so; it is what these tests need.
PLAIN_AUTH = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


@PLAIN_AUTH
def test_credentials_log_in_and_a_wrong_password_is_refused_without_echoing_it() -> None:
    with smtp_server_running(credentials=("mailer", "right-pw")) as server:
        good = SmtpMailer.from_settings(f"smtp://mailer:right-pw@127.0.0.1:{server.port}", "l@x")
        good.send_now(to="ann@example.com", subject="s", text="t")
        assert len(server.received()) == 1
        bad = SmtpMailer.from_settings(f"smtp://mailer:wrong-pw@127.0.0.1:{server.port}", "l@x")
        with pytest.raises(MailNotSent, match="535") as refused:
            bad.send_now(to="ann@example.com", subject="s", text="t")
        assert "wrong-pw" not in str(refused.value)
        assert len(server.received()) == 1


@PLAIN_AUTH
def test_a_password_is_never_sent_in_clear_to_a_server_off_this_machine() -> None:
    """127.0.0.2 stands in for a remote server that offers no STARTTLS."""
    with smtp_server_running(host="127.0.0.2", credentials=("mailer", "pw")) as server:
        mailer = SmtpMailer.from_settings(f"smtp://mailer:pw@127.0.0.2:{server.port}", "l@x")
        with pytest.raises(MailNotSent, match="STARTTLS"):
            mailer.send_now(to="ann@example.com", subject="s", text="t")
        assert server.received() == []
