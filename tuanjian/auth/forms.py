from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField


class LoginForm(FlaskForm):
    id_number = StringField("身份证号码")
    password = PasswordField("密码")
    first_code = StringField("首次登录验证码")
    next = HiddenField()


class ChangePasswordForm(FlaskForm):
    current = PasswordField("当前密码")
    new = PasswordField("新密码")
    confirm = PasswordField("再次输入新密码")


class ForgotPasswordForm(FlaskForm):
    """忘记密码: the rules live in services.resetcodes; this form carries CSRF and redisplay."""

    id_number = StringField("身份证号码")
    code = StringField("重置密码验证码")
    password = PasswordField("新密码")
    confirm = PasswordField("再次输入新密码")
