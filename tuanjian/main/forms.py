from wtforms import StringField

from ..web.forms import PersonForm


class ProfileForm(PersonForm):
    """本人信息: carries CSRF and redisplay; the rules are domain.profile.validate_own_profile."""

    education = StringField("学历")
    occupation = StringField("职业")
    workplace = StringField("学习工作单位")
