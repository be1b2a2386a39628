"""Every error is a Chinese page (or fragment for htmx), never a stack trace."""
from __future__ import annotations

import logging
import traceback

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from ..domain.errors import DomainError
from ..extensions import db
from .htmx import wants_fragment

log = logging.getLogger(__name__)

MESSAGES = {
    400: "请求有误",
    401: "请先登录",
    403: "没有权限进行此操作",
    404: "页面不存在，或不在您的管理范围内",
    405: "不支持此操作方式",
    409: "操作与当前数据冲突",
    413: "上传的文件太大",
    422: "填写内容有误",
    429: "操作太频繁，请稍后再试",
    500: "服务器内部错误，请稍后重试；如反复出现请联系系统管理员",
}


def render_error(status: int, message: str | None = None):
    title = MESSAGES.get(status, "出错了")
    template = "errors/_fragment.html" if wants_fragment() else "errors/error.html"
    return render_template(template, status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        from .relogin import stale_page_response
        # usually an idled-out session: log in again on the same page, keeping what was typed (issue 16.1)
        answer = stale_page_response("页面已过期或来源不明（安全校验未通过）。请返回上一页，刷新后重新提交。")
        if answer is not None:
            return answer
        return render_error(400, "页面已过期或来源不明（安全校验未通过）。请返回上一页，刷新后重新提交。")

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        desc = exc.description if isinstance(exc.description, str) and _is_chinese(exc.description) else None
        if status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            desc = f"上传的文件超过 {limit // (1024 * 1024)} MB 上限，请拆分后再上传。"
        return render_error(status, desc)

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()
        return render_error(exc.status, exc.message)

    @app.errorhandler(OperationalError)
    def db_busy(exc):
        db.session.rollback()
        log_error("database error", exc)
        return render_error(503 if "locked" in str(exc).lower() else 500,
                            "数据库繁忙，您的操作没有保存，请稍后重试。")

    @app.errorhandler(Exception)
    def unexpected(exc):
        db.session.rollback()
        log_error("unhandled error", exc)
        return render_error(500)


def log_error(what: str, exc: BaseException) -> None:
    """Log an error with its traceback but without personal data: a database error's text carries the values
    (PostgreSQL: "DETAIL: Key (id_number)=(340827…) already exists"), so only its first line is kept, and
    SQLAlchemy already hides bound parameters (hide_parameters)."""
    lines = str(exc).splitlines() or [""]
    text = lines[0]
    if isinstance(exc, DBAPIError):
        text = f"{type(exc.orig).__name__}: {str(exc.orig).splitlines()[0] if str(exc.orig) else ''}"
    log.error("%s: %s: %s\nTraceback (most recent call last):\n%s", what, type(exc).__name__, text,
              "".join(traceback.format_tb(exc.__traceback__)).rstrip())


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
