"""tuanjian: county Communist Youth League organisation, member and cadre data, self-hosted."""
from __future__ import annotations

import os

from flask import Flask

from .config import (
    DEFAULT_SECRET_KEY,
    DEFAULTS,
    DefaultSecretKeyError,
    database_url_from_env,
    normalise_database_url,
    secret_key_from_instance,
)

__version__ = "0.1.0"


def create_app(test_config: dict | None = None) -> Flask:
    """Application factory: config → extensions → security hooks → blueprints → CLI."""
    instance_path = os.environ.get("TUANJIAN_INSTANCE_PATH") or _source_checkout_instance()
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    _configure(app, test_config)
    _init_extensions(app)
    _register_web(app)
    _register_cli(app)
    return app


def _source_checkout_instance() -> str | None:
    """In a source checkout (make run), keep data in ./instance beside pyproject.toml."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if os.path.exists(os.path.join(root, "pyproject.toml")):
        return os.path.join(root, "instance")
    return None


def _configure(app: Flask, test_config: dict | None) -> None:
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("TUANJIAN")
    else:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    uri = app.config.get("SQLALCHEMY_DATABASE_URI") or app.config.get("DATABASE_URL")
    app.config["SQLALCHEMY_DATABASE_URI"] = (normalise_database_url(uri) if uri
                                             else database_url_from_env(app.instance_path))
    if app.config.get("SECRET_KEY") in (None, "", DEFAULT_SECRET_KEY):
        app.config["SECRET_KEY"] = secret_key_from_instance(app.instance_path) or DEFAULT_SECRET_KEY
    if app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY and not (app.debug or app.testing):
        raise DefaultSecretKeyError(
            "拒绝启动：未设置密钥。请设置环境变量 TUANJIAN_SECRET_KEY，或在 instance/secret_key 文件中写入随机密钥"
            "（make run 会自动生成）。Refusing to start with the default secret key: set TUANJIAN_SECRET_KEY.")
    if app.config.get("PUBLIC_URL"):
        from .domain.addresses import normalise_public_url
        from .domain.errors import ValidationFailed
        try:
            app.config["PUBLIC_URL"] = normalise_public_url(app.config["PUBLIC_URL"])
        except ValidationFailed as exc:
            raise ValueError(f"TUANJIAN_PUBLIC_URL 设置有误：{exc.message}") from None
    from .domain.settings import Settings
    app.extensions["tuanjian_settings"] = Settings.from_mapping(app.config)
    from .clock import set_offset
    set_offset(app.config.get("TIMEZONE_OFFSET_HOURS", 8))


def _init_extensions(app: Flask) -> None:
    from .dbsetup import install_engine_hooks
    from .extensions import csrf, db, login_manager, migrate

    install_engine_hooks()
    from .services import stats
    stats.install(settings_source=_settings_in_context)
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(__file__)), "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    from .auth import views as auth_views
    auth_views.init_login_manager(login_manager)


def _register_web(app: Flask) -> None:
    from . import (
        audit,
        auth,
        cadres,
        exchange,
        main,
        members,
        orgs,
        people,
        reconcile,
        registration,
        supervision,
        tuanji,
    )
    from .web import actions, compress, errors, filters, relogin, security

    compress.init_app(app)      # registered first, so it runs last, on the finished response
    security.init_app(app)
    errors.init_app(app)
    filters.init_app(app)
    relogin.init_app(app)
    actions.init_app(app)       # registered last, so the request's one commit runs first (its answer may change)
    relogin.init_fill(app)      # …except filling a restored form, whose spent stash is part of the commit
    for module in (main, auth, registration, orgs, cadres, members, audit, people, supervision, exchange,
                   reconcile, tuanji):
        app.register_blueprint(module.bp)


def _register_cli(app: Flask) -> None:
    from . import cli

    cli.register_cli(app)


def settings_of(app: Flask):
    """The rule settings (domain.settings.Settings) the app was built with."""
    return app.extensions["tuanjian_settings"]


def _settings_in_context():
    """The running app's rule settings, or None outside an app context (scripts on a bare session)."""
    from flask import current_app, has_app_context
    return settings_of(current_app) if has_app_context() else None


def current_settings():
    """The rule settings of the running app: the one accessor for views and commands (services take them as an
    argument)."""
    from flask import current_app
    return settings_of(current_app)
