from flask import current_app, request


def trusted_proxy_count(value) -> int:
    """TUANJIAN_TRUST_PROXY as a number of proxies: false/0 = none, true = 1 (our own nginx), N = N proxies."""
    if value is None or value is False:
        return 0
    if value is True:
        return 1
    text = str(value).strip().lower()
    if text in ("", "false", "no", "off"):
        return 0
    if text in ("true", "yes", "on"):
        return 1
    try:
        return max(0, int(text))
    except ValueError:
        return 0


def client_ip() -> str:
    """The user's address. Behind N trusted proxies (TUANJIAN_TRUST_PROXY=N) it is the Nth X-Forwarded-For entry
    from the right: each trusted proxy appends the address it received the request from, so the entries left of
    those are whatever the client chose to send and are never believed (rotating them skips no throttle).
    With fewer entries than trusted proxies the header is ignored, as werkzeug's ProxyFix does."""
    n = trusted_proxy_count(current_app.config.get("TRUST_PROXY"))
    if n:
        entries = [e.strip() for e in request.headers.get("X-Forwarded-For", "").split(",")]
        entries = [e for e in entries if e]
        if len(entries) >= n:
            return entries[-n][:64]
    return (request.remote_addr or "unknown")[:64]
