"""What the Dockerfile, app.py and the Makefile rely on."""
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_dockerfile_runs_gunicorn_on_the_factory_as_non_root():
    text = Path(ROOT, "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^USER\s+(?!root)\w+", text, re.M)
    assert "gunicorn" in text and "tuanjian:create_app()" in text


def test_app_module_and_factory_import(tmp_path):
    env = dict(os.environ, TUANJIAN_SECRET_KEY="k" * 32, TUANJIAN_INSTANCE_PATH=str(tmp_path))
    env.pop("TUANJIAN_DATABASE_URL", None)
    code = "import app; from tuanjian import create_app; a = create_app(); print(a.name, sorted(a.blueprints))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "auth" in out.stdout and "orgs" in out.stdout and "registration" in out.stdout


def test_vendored_htmx_is_the_only_script_library():
    vendor = os.listdir(os.path.join(ROOT, "tuanjian", "static", "vendor"))
    scripts = [f for f in vendor if f.endswith(".js")]
    assert scripts == ["htmx-2.0.11.min.js"]
    layout = Path(ROOT, "tuanjian", "templates", "layout.html").read_text(encoding="utf-8")
    assert "vendor/htmx-2.0.11.min.js" in layout and "//cdn" not in layout
