from flask_wtf import FlaskForm
from wtforms import StringField


class ProfileForm(FlaskForm):
    """本人信息: carries CSRF and redisplay; the rules are domain.profile.validate_own_profile."""

    name = StringField("姓名")
    id_number = StringField("身份证号码")
    phone = StringField("手机号码")
    ethnicity = StringField("民族")
    political_status = StringField("政治面貌")
    join_date = StringField("入团年月")
    education = StringField("学历")
    occupation = StringField("职业")
    workplace = StringField("学习工作单位")
