"""Console sessions (ui/sessions.py): signed, expiring tokens; one-time grants; safe redirects."""

from __future__ import annotations

from ui.sessions import Sessions, load_key, safe_next


def test_a_token_is_valid_until_it_expires_and_only_with_its_signature(tmp_path):
    s = Sessions(load_key(tmp_path / "k"), "pw", ttl_s=3600)
    token = s.issue(1000.0)
    assert s.valid(token, 1000.0) and s.valid(token, 4599.0) and not s.valid(token, 4601.0)
    expiry, nonce, mac = token.split(".")
    assert not s.valid(f"{int(expiry) + 10**6}.{nonce}.{mac}", 1000.0)  # a longer life is not signed
    assert not s.valid("garbage", 1000.0) and not s.valid(None, 1000.0)


def test_a_restart_keeps_sessions_and_a_new_password_ends_them(tmp_path):
    key = tmp_path / "console_session.key"
    token = Sessions(load_key(key), "pw", 3600).issue(0.0)
    assert key.stat().st_mode & 0o777 == 0o600
    assert Sessions(load_key(key), "pw", 3600).valid(token, 10.0)  # the same key file: still logged in
    assert not Sessions(load_key(key), "new password", 3600).valid(token, 10.0)


def test_a_grant_is_redeemed_once_and_expires(tmp_path):
    s = Sessions(load_key(tmp_path / "k"), "pw", 3600)
    code = s.grant(0.0)
    assert s.redeem(code, 1.0) and not s.redeem(code, 2.0)
    late = s.grant(0.0)
    assert not s.redeem(late, 61.0) and not s.redeem("made-up", 0.0)


def test_only_paths_of_this_console_are_redirect_targets():
    assert safe_next("/positions") == "/positions" and safe_next("/risk?x=1") == "/risk?x=1"
    for bad in ("https://evil.example/", "//evil.example", "javascript:alert(1)", "", None, "/\\evil"):
        assert safe_next(bad) == "/"
