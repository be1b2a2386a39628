"""Issue 16.3: PUBLIC_URL is the address printed on slips and help; opened on 127.0.0.1 without it, the slip
page asks for the address before printing."""
from __future__ import annotations

import pytest

from tuanjian.domain.addresses import is_loopback, normalise_public_url
from tuanjian.domain.errors import ValidationFailed

from ..conftest import make_app
from ..factories import PASSWORD, make_code, make_tree


@pytest.mark.parametrize("typed,stored", [
    ("192.168.1.20:8000", "http://192.168.1.20:8000"),
    (" http://TJ.example.gov.cn/ ", "http://tj.example.gov.cn"),
    ("https://tj.example.gov.cn/tuanjian/", "https://tj.example.gov.cn/tuanjian"),
])
def test_normalise_public_url(typed, stored):
    assert normalise_public_url(typed) == stored


@pytest.mark.parametrize("typed", ["", "ftp://x", "http://127.0.0.1:5000", "localhost:5000", "http://a:b@host",
                                   "http://host/?q=1", "http://host:99999"])
def test_bad_public_urls_are_refused_in_chinese(typed):
    with pytest.raises(ValidationFailed) as exc:
        normalise_public_url(typed)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)


def test_loopback():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.1.2.3")
    assert not is_loopback("192.168.1.20") and not is_loopback("tj.example.gov.cn")


def _slips_page(client, tree, *, base_url="http://127.0.0.1:5000", **query):
    client.post("/auth/login", data={"id_number": tree.county_admin.id_number, "password": PASSWORD},
                base_url=base_url)
    return client.get(f"/orgs/{tree.county.id}/codes/slips", query_string=query, base_url=base_url)


def test_slips_opened_on_the_server_ask_for_the_address(client, session, tree):
    make_code(session, tree.township)
    session.commit()
    page = _slips_page(client, tree).get_data(as_text=True)
    assert "其他电脑访问本系统的地址" in page and "127.0.0.1" in page
    assert 'class="slip"' not in page and "请先在上方填写" in page
    bad = _slips_page(client, tree, address="127.0.0.1:5000").get_data(as_text=True)
    assert "是本机地址" in bad and 'class="slip"' not in bad
    good = _slips_page(client, tree, address="192.168.1.20:5000").get_data(as_text=True)
    assert 'class="slip"' in good and "http://192.168.1.20:5000/register/" in good
    assert "127.0.0.1" not in good.split('<ol class="slips">')[1]


def test_slips_opened_on_the_lan_use_that_address(client, session, tree):
    make_code(session, tree.township)
    session.commit()
    page = _slips_page(client, tree, base_url="http://192.168.1.20:5000").get_data(as_text=True)
    assert "其他电脑访问本系统的地址" not in page and "http://192.168.1.20:5000/register/" in page


def test_public_url_setting_wins_everywhere(db_kind, tmp_path):
    from tuanjian.extensions import db
    app = make_app(db_kind, tmp_path, PUBLIC_URL="tj.example.gov.cn/")
    assert app.config["PUBLIC_URL"] == "http://tj.example.gov.cn"
    with app.app_context():
        tree = make_tree(db.session)
        make_code(db.session, tree.township)
        db.session.commit()
        client = app.test_client()
        page = _slips_page(client, tree).get_data(as_text=True)
        assert "其他电脑访问本系统的地址" not in page and "http://tj.example.gov.cn/register/" in page
        assert "http://tj.example.gov.cn/register/" in client.get("/help", base_url="http://127.0.0.1:5000").get_data(
            as_text=True)
        db.session.remove()
        db.engine.dispose()


def test_bad_public_url_setting_refuses_to_start(db_kind, tmp_path):
    with pytest.raises(ValueError, match="TUANJIAN_PUBLIC_URL"):
        make_app(db_kind, tmp_path, PUBLIC_URL="ftp://x")


def test_help_shows_no_loopback_address(client):
    page = client.get("/help", base_url="http://127.0.0.1:5000").get_data(as_text=True)
    assert "127.0.0.1" not in page
    page = client.get("/help", base_url="http://192.168.1.20:5000").get_data(as_text=True)
    assert "http://192.168.1.20:5000/register/" in page
