from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, StringField


class RegisterForm(FlaskForm):
    """Field rules live in the domain (services.registration); this form carries CSRF and redisplay."""

    q = HiddenField()
    org_id = HiddenField()
    position = StringField("团内职务")
    code = StringField("管理员注册码")
    name = StringField("姓名")
    id_number = StringField("身份证号码")
    phone = StringField("手机号码")
    ethnicity = StringField("民族")
    political_status = StringField("政治面貌")
    join_date = StringField("入团年月")
    password = PasswordField("登录密码")
    password_confirm = PasswordField("再次输入密码")
