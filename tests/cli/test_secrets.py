"""Redaction of secrets by option name, by URL shape and by value."""

from __future__ import annotations

from adf_core.observe.secrets import MASK, Redactor, is_secret_name, redact_text


def test_secret_names() -> None:
    for name in ("password", "db_passwd", "client_secret", "token", "api_key", "ACCESS_KEY"):
        assert is_secret_name(name), name
    for name in ("key", "url", "keys", "monkey", "path"):
        assert not is_secret_name(name), name


def test_url_passwords_and_query_secrets() -> None:
    text = "postgresql://app:s3cr%40t@db:5432/x and http://h/p?token=abc&x=1 sqlite:///a.db"
    assert redact_text(text) == (
        f"postgresql://app:{MASK}@db:5432/x and http://h/p?token={MASK}&x=1 sqlite:///a.db"
    )


def test_a_redactor_scrubs_learned_values_everywhere() -> None:
    redactor = Redactor()
    redactor.learn({"dest": {"token": "tok-123456", "url": "mysql://u:hunter22@h/db"}})
    message = "auth failed for tok-123456; hunter22 rejected by mysql://u:hunter22@h/db"
    assert "tok-123456" not in redactor.text(message)
    assert "hunter22" not in redactor.text(message)
    event = redactor(None, "info", {"event": "x", "error": message, "options": {"token": "t"}})
    assert "hunter22" not in str(event) and event["options"]["token"] == MASK


def test_a_url_password_runs_to_the_first_at_as_sqlalchemy_reads_it() -> None:
    from adf_core.observe.secrets import redact_url, url_passwords

    url = "postgresql+psycopg://etl:pa/ss?w#rd:1@db:5432/orders?sslmode=require"
    assert redact_url(url) == f"postgresql+psycopg://etl:{MASK}@db:5432/orders?sslmode=require"
    assert redact_text(f"failed: {url} (x)") == (
        f"failed: postgresql+psycopg://etl:{MASK}@db:5432/orders?sslmode=require (x)")
    assert url_passwords("mysql://u:p%2Fq%23r@h/db") == ["p%2Fq%23r", "p/q#r"]
    for plain in ("sqlite:///a.db", "http://h:8080/x?y=1", "postgresql://u@h/db"):
        assert redact_url(plain) == plain


def test_credential_headers_are_learned_from_every_form() -> None:
    from adf_core.observe.secrets import is_secret_header

    for name in ("Authorization", "proxy-authorization", "Cookie", "X-Api-Key", "apikey",
                 "X-Auth-Token", "X-Session-Id"):
        assert is_secret_header(name), name
    for name in ("Accept", "Content-Type", "User-Agent", "X-Request-Id"):
        assert not is_secret_header(name), name
    for headers in ('{"Authorization": "Bearer abc123xyz", "Accept": "text/csv"}',
                    "Authorization=Bearer abc123xyz,Accept=text/csv",
                    {"Authorization": "Bearer abc123xyz", "Accept": "text/csv"}):
        redactor = Redactor()
        redactor.learn({"src": {"headers": headers}})
        shown = redactor.value("headers", headers)
        assert "abc123xyz" not in str(shown) and "text/csv" in str(shown)
        assert redactor.text("the server said: token abc123xyz is invalid") == (
            f"the server said: token {MASK} is invalid")


def test_declared_secrets_are_learned_whatever_their_names() -> None:
    redactor = Redactor()
    redactor.learn({"src": {"dsn": "host=db user=etl", "other": "visible"}},
                   declared={"src": ["dsn"]})
    assert redactor.text("bad dsn host=db user=etl; other=visible") == (
        f"bad dsn {MASK}; other=visible")
