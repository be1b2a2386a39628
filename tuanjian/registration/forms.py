from wtforms import HiddenField, PasswordField, StringField

from ..web.forms import PersonForm


class RegisterForm(PersonForm):
    """Field rules live in the domain (services.registration); this form carries CSRF and redisplay."""

    q = HiddenField()
    org_id = HiddenField()
    position = StringField("团内职务")
    code = StringField("管理员注册码")
    password = PasswordField("登录密码")
    password_confirm = PasswordField("再次输入密码")
