"""web.urls.template_url_for: the templates' url_for writes the numbers into a URL built once, and gives exactly
the string Flask's url_for gives (issue 29)."""
from __future__ import annotations

from flask import url_for

from tuanjian.web.urls import template_url_for


def test_template_url_for_is_url_for_for_every_rule(app):
    with app.test_request_context("/"):
        for rule in app.url_map.iter_rules():
            for values in ({name: 7 for name in rule.arguments}, {name: 123456 for name in rule.arguments},
                           {**{name: 0 for name in rule.arguments}, "page": 3, "other": 40},
                           {**{name: 5 for name in rule.arguments}, "q": "团 支部", "empty": None}):
                for _ in range(2):                 # the first call builds the pattern, the second uses it
                    assert template_url_for(rule.endpoint, **values) == url_for(rule.endpoint, **values)
        assert template_url_for("static", filename="css/app.css") == url_for("static", filename="css/app.css")
        assert (template_url_for("orgs.detail", org_id=5, _anchor="x")
                == url_for("orgs.detail", org_id=5, _anchor="x"))


def test_template_url_for_keeps_the_script_root(app):
    for root in ("", "/tuanjian"):
        with app.test_request_context("/", base_url=f"http://localhost{root}/"):
            assert template_url_for("orgs.detail", org_id=42) == url_for("orgs.detail", org_id=42) == \
                f"{root}/orgs/42"


def test_templates_use_it(app):
    assert app.jinja_env.globals["url_for"] is template_url_for
