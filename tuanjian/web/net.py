from flask import current_app, request


def client_ip() -> str:
    """The user's address; X-Forwarded-For only when TUANJIAN_TRUST_PROXY is set (behind our own nginx)."""
    if current_app.config.get("TRUST_PROXY"):
        fwd = request.headers.get("X-Forwarded-For", "")
        if fwd:
            return fwd.split(",")[0].strip()[:64]
    return (request.remote_addr or "unknown")[:64]
