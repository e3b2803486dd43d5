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
