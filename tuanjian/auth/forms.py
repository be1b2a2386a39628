from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField


class LoginForm(FlaskForm):
    id_number = StringField("身份证号码")
    password = PasswordField("密码")
    next = HiddenField()


class ChangePasswordForm(FlaskForm):
    current = PasswordField("当前密码")
    new = PasswordField("新密码")
    confirm = PasswordField("再次输入新密码")
