from flask_wtf import FlaskForm
from wtforms import StringField

from ..web.forms import PersonForm


class MemberForm(PersonForm):
    """Carries CSRF and redisplay; every rule is domain.members.validate_member."""

    is_cadre = StringField("是否为团干部")
    position = StringField("团内职务")
    dev_number = StringField("发展团员编号")
    education = StringField("学历")
    occupation = StringField("职业")
    workplace = StringField("学习工作单位")
    has_application = StringField("入团志愿书")
    has_card = StringField("团员证")
    card_year = StringField("团籍注册年度")
    has_letter = StringField("组织关系介绍信")


class DeleteForm(FlaskForm):
    reason = StringField("删除原因")
