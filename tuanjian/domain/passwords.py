"""Password policy [C: S21]: 8-32 characters with both letters and digits."""
from __future__ import annotations

from .errors import ValidationFailed


def check_password(password: str, *, min_length: int = 8, max_length: int = 32, id_number: str = "") -> None:
    if not password:
        raise ValidationFailed.single("password", "请填写密码")
    if len(password) < min_length or len(password) > max_length:
        raise ValidationFailed.single("password", f"密码长度应为{min_length}～{max_length}位")
    if not any(c.isdigit() for c in password) or not any(c.isalpha() for c in password):
        raise ValidationFailed.single("password", "密码须同时包含字母和数字")
    if id_number and password.upper() == id_number[-8:].upper():
        raise ValidationFailed.single("password", "不能使用身份证号后八位（初始密码）作为新密码")
