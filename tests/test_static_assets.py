"""Our own JavaScript stays tiny and plain, and the vendored htmx is the only library (issue 7)."""
from __future__ import annotations

import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "tuanjian" / "static"
TEMPLATES = STATIC.parent / "templates"
OWN_JS_BUDGET = 4 * 1024


def test_only_our_small_script_and_vendored_htmx():
    scripts = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*.js"))
    assert scripts == ["js/app.js", "vendor/htmx-2.0.11.min.js"], scripts
    assert (STATIC / "vendor" / "htmx-LICENSE.txt").is_file()
    assert (STATIC / "vendor" / "htmx-2.0.11.min.js").read_text(encoding="utf-8").count("htmx") > 100


def test_own_script_is_plain_es5_without_a_build_step():
    source = (STATIC / "js" / "app.js").read_text(encoding="utf-8")
    assert len(source.encode()) <= OWN_JS_BUDGET, f"app.js is {len(source.encode())} bytes; keep it under 4 KB"
    code = re.sub(r"/\*.*?\*/|//[^\n]*", "", source, flags=re.S)
    # Windows 7 browsers in compatibility mode: no modules, arrows, classes, let/const, template literals, fetch
    for pattern in (r"\bimport\b", r"\bexport\b", r"=>", r"\bclass\b", r"\blet\b", r"\bconst\b", r"`",
                    r"\bfetch\(", r"\brequire\(", r"\basync\b", r"\bawait\b"):
        assert not re.search(pattern, code), f"app.js uses {pattern!r}"


def test_templates_load_only_local_scripts_and_no_inline_code():
    for path in TEMPLATES.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", html):
            src = re.search(r'src="([^"]*)"', tag)
            assert src and src.group(1).startswith("{{ url_for('static'"), f"{path.name}: {tag}"
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), f"{path.name}: inline script"
        assert not re.search(r"\son[a-z]+=", html), f"{path.name}: inline event handler"
        assert not re.search(r"https?://", html), f"{path.name}: an outside address"
