"""Issue 25, class 2 in Chromium: names with characters from CJK extensions B–G are printed whole — the member
list's print view printed to PDF keeps each name in one line of the PDF's text (read back with pypdf).

The PDF can only carry a character some installed font draws (the app ships no web fonts; county PCs have
SimSun-ExtB, and Windows 11 SimSun-ExtG): the test uses, per extension, a character an installed font covers
(fc-list) and skips, saying so, when no installed font covers any of them."""
from __future__ import annotations

import io
import re
import shutil
import subprocess
import unicodedata

import pytest
from sqlalchemy import select

from .conftest import log_in

pytestmark = pytest.mark.e2e

# a few candidates per extension (common in names where the extension has any: 𠀾, 𫖯, 𬱖, 𬌗, …)
CANDIDATES = {"B": "\U0002000e\U00020086\U000200cc\U00021a45\U000249be", "C": "\U0002b5af\U0002a7dd\U0002a8fb",
              "D": "\U0002b740\U0002b7f0", "E": "\U0002c496\U0002b828\U0002cc26", "F": "\U0002ceb0\U0002e0b3",
              "G": "\U00030000\U000301dd"}


def _covered(ch: str) -> bool:
    out = subprocess.run(["fc-list", f":charset={ord(ch):x}", "family"], capture_output=True, text=True,
                         check=False).stdout
    return bool(out.strip())


def _fold(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFC", text))


def test_rare_names_print_whole_to_pdf(browser, live_server, artifacts):
    from pypdf import PdfReader

    from tuanjian.extensions import db
    from tuanjian.models import Member, Org, Person

    if shutil.which("fc-list") is None:
        pytest.skip("fc-list (fontconfig) not installed: cannot tell which extension characters a font draws")
    chars = {ext: next((c for c in cands if _covered(c)), None) for ext, cands in CANDIDATES.items()}
    chars = {ext: c for ext, c in chars.items() if c}
    if not chars:
        pytest.skip("no installed font draws any CJK extension B–G character (install e.g. fonts-hanazono)")
    names = [f"{c}明" if i % 2 else f"阿依·{c}丽" for i, c in enumerate(chars.values())]
    app, base = live_server.app, live_server.url
    with app.app_context():
        branch = db.session.scalar(select(Org).where(Org.short_name == "华阳镇城东村团支部"))
        people = db.session.scalars(select(Person).join(Member, Member.person_id == Person.id)
                                    .where(Member.org_id == branch.id, Member.deleted_at.is_(None))
                                    .order_by(Person.id).limit(len(names))).all()
        for person, name in zip(people, names, strict=False):
            person.name = name
        db.session.commit()
        branch_id = branch.id
        db.session.remove()
    who = live_server.login_for("县团委管理员")
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, base, who)
        page.goto(f"{base}/members/org/{branch_id}/print")
        for name in names[:len(people)]:
            assert name in page.content()
        pdf = page.pdf(prefer_css_page_size=True, print_background=True)
        (artifacts / "paper-rare-names.pdf").write_bytes(pdf)
    finally:
        context.close()
    lines = [_fold(line) for p in PdfReader(io.BytesIO(pdf)).pages for line in (p.extract_text() or "").splitlines()]
    missing = [n for n in names[:len(people)] if not any(_fold(n) in line for line in lines)]
    assert not missing, f"names not whole in the PDF text: {missing} (extensions {sorted(chars)})"
