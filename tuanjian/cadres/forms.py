from flask_wtf import FlaskForm
from wtforms import StringField

from ..web.forms import PersonForm


class CadreForm(PersonForm):
    """Carries CSRF and redisplay; rules live in domain.cadres."""

    position = StringField("职务")
    title = StringField("职务名称")
    nature = StringField("团干部性质")
    start_month = StringField("任现职年月")
    party_committee = StringField("是否同级党委（支部）成员")


class ChangeForm(FlaskForm):
    position = StringField("新职务")
    title = StringField("职务名称")
    changed_on = StringField("变更日期")


class EndForm(FlaskForm):
    ended_on = StringField("卸任日期")
    reason = StringField("卸任原因")
