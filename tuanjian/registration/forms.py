from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SelectField, StringField

from ..domain.people import CADRE_POLITICAL_STATUSES, ETHNICITIES, POSITIONS_GRASSROOTS, POSITIONS_LEADING

_POSITIONS = [("", "请选择")] + [(p, p) for p in dict.fromkeys(POSITIONS_GRASSROOTS + POSITIONS_LEADING)]


class RegisterForm(FlaskForm):
    q = HiddenField()
    org_id = HiddenField()
    position = SelectField("团内职务", choices=_POSITIONS, validate_choice=False)
    code = StringField("管理员注册码")
    name = StringField("姓名")
    id_number = StringField("身份证号码")
    phone = StringField("手机号码")
    ethnicity = SelectField("民族", choices=[("", "请选择")] + [(e, e) for e in ETHNICITIES], validate_choice=False)
    political_status = SelectField("政治面貌", choices=[("", "请选择")] + [(p, p) for p in CADRE_POLITICAL_STATUSES],
                                   validate_choice=False)
    join_date = StringField("入团年月")
    password = PasswordField("登录密码")
    password_confirm = PasswordField("再次输入密码")
