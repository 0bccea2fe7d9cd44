"""Login, logout, registration and CSRF over HTTP."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.models import User
from portal.vocab import AccountKind, Role

from ..support import PASSWORD, World, csrf_token, login


def test_login_and_logout(client: FlaskClient, world: World) -> None:
    login(client, "editor_a")
    page = client.get("/").get_data(as_text=True)
    assert "editor_a" in page and "目录编制员" in page and "新建目录" in page
    token = csrf_token(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert "editor_a" not in client.get("/").get_data(as_text=True)


def test_wrong_password_is_a_chinese_message_without_telling_which(client: FlaskClient, world: World) -> None:
    for name in ("editor_a", "nobody"):
        response = client.post("/login", data={"login": name, "password": "wrong-one", "csrf_token": csrf_token(client)})
        assert response.status_code == 401
        assert "用户名或密码不正确" in response.get_data(as_text=True)


def test_lockout_after_repeated_failures(app: Flask, client: FlaskClient, world: World) -> None:
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        client.post("/login", data={"login": "editor_a", "password": "wrong-one", "csrf_token": csrf_token(client)})
    response = client.post("/login", data={"login": "editor_a", "password": PASSWORD, "csrf_token": csrf_token(client)})
    assert response.status_code == 401 and "锁定" in response.get_data(as_text=True)


def test_forms_without_csrf_token_are_refused(client: FlaskClient, world: World) -> None:
    response = client.post("/login", data={"login": "editor_a", "password": PASSWORD})
    assert response.status_code == 400
    assert "表单已过期或来源无效" in response.get_data(as_text=True)
    login(client, "admin_a")
    entry = world.entries[0]
    assert client.post(f"/catalog/{entry.slug}/publish").status_code == 400
    assert client.post("/logout").status_code == 400


def test_next_only_follows_local_paths(client: FlaskClient, world: World) -> None:
    for target, expected in (("/catalog", "/catalog"), ("//evil.example/x", "/"), ("https://evil.example", "/")):
        data = {"login": "citizen", "password": PASSWORD, "csrf_token": csrf_token(client)}
        response = client.post(f"/login?next={target}", data=data)
        assert response.headers["Location"] == expected
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_login_starts_a_new_session(client: FlaskClient, world: World) -> None:
    client.get("/lang/en")
    with client.session_transaction() as before:
        before["planted"] = "by someone else"
    login(client, "citizen")
    with client.session_transaction() as after:
        assert "planted" not in after and after["lang"] == "en"


def test_registration(client: FlaskClient, session: Session) -> None:
    form = {"kind": "organisation", "display_name": "合肥智数科技有限公司", "email": "data@zhishu.example.cn",
            "password": "Qiye-Shuju-2026!", "password2": "Qiye-Shuju-2026!"}
    response = client.post("/register", data={**form, "password2": "other", "csrf_token": csrf_token(client, "/register")})
    assert response.status_code == 400 and "两次输入的密码不一致" in response.get_data(as_text=True)
    response = client.post("/register", data={**form, "password": "123", "password2": "123", "csrf_token": csrf_token(client, "/register")})
    assert response.status_code == 400 and "密码至少需要10个字符" in response.get_data(as_text=True)
    assert 'value="合肥智数科技有限公司"' in response.get_data(as_text=True)  # nothing typed is lost
    response = client.post("/register", data={**form, "csrf_token": csrf_token(client, "/register")})
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.email == "data@zhishu.example.cn"))
    assert user is not None and user.role == Role.PUBLIC and user.account_kind == AccountKind.ORGANISATION
    assert user.password_hash.startswith("$argon2id$")
    assert "合肥智数科技有限公司" in client.get("/").get_data(as_text=True)


def _session_data(app: Flask, cookie: str) -> dict:
    return dict(app.session_interface.get_signing_serializer(app).loads(cookie))  # type: ignore[attr-defined]


def test_a_session_fixed_before_login_is_not_reused(app: Flask, client: FlaskClient, world: World) -> None:
    """Someone plants their own (validly signed) session cookie in the victim's browser; the
    victim signs in with it: the signed-in session is a new value that carries nothing of the
    planted one, its CSRF token is new, and the planted cookie stays anonymous."""
    attacker = app.test_client()
    attacker.get("/lang/en")
    planted_token = csrf_token(attacker)
    with attacker.session_transaction() as planted:
        planted["planted"] = "by someone else"
    fixed = attacker.get_cookie("session").value  # type: ignore[union-attr]
    old_raw_token = _session_data(app, fixed)["csrf_token"]

    client.set_cookie("session", fixed)
    response = client.post("/login", data={"login": "citizen", "password": PASSWORD, "csrf_token": planted_token})
    assert response.status_code == 302
    after = client.get_cookie("session").value  # type: ignore[union-attr]
    assert after != fixed
    data = _session_data(app, after)
    assert "planted" not in data and data.get("csrf_token") != old_raw_token
    assert data["_user_id"] == str(world.users["citizen"].id) and data["lang"] == "en"  # the language choice survives
    # The CSRF token of the planted session no longer works in the signed-in one; a fresh one does.
    assert client.post("/logout", data={"csrf_token": planted_token}).status_code == 400
    assert csrf_token(client, "/") != planted_token
    # The planted cookie itself was never signed in.
    attacker.set_cookie("session", fixed)
    assert attacker.get("/account").status_code == 302


def test_registration_also_starts_a_new_session(app: Flask, client: FlaskClient, session: Session) -> None:
    token = csrf_token(client, "/register")
    with client.session_transaction() as before:
        before["planted"] = "by someone else"
    fixed = client.get_cookie("session").value  # type: ignore[union-attr]
    form = {"kind": "individual", "display_name": "周明", "email": "zhou@example.cn", "password": "Hui-Jia-Lu-2026!",
            "password2": "Hui-Jia-Lu-2026!", "csrf_token": token}
    assert client.post("/register", data=form).status_code == 302
    after = client.get_cookie("session").value  # type: ignore[union-attr]
    assert after != fixed and "planted" not in _session_data(app, after)


def test_registration_refuses_a_guessable_password(client: FlaskClient, session: Session) -> None:
    form = {"kind": "individual", "display_name": "周明", "email": "zhou@example.cn", "password": "P@ssw0rd2026",
            "password2": "P@ssw0rd2026", "csrf_token": csrf_token(client, "/register")}
    response = client.post("/register", data=form)
    assert response.status_code == 400 and "密码容易被猜中" in response.get_data(as_text=True)
    assert session.scalar(select(User).where(User.email == "zhou@example.cn")) is None
