from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField


class CreateChildForm(FlaskForm):
    short_name = StringField("组织简称")
    kind = SelectField("组织类别", choices=[], validate_choice=False)
    is_township = BooleanField("是乡镇（街道）团委（团工委）")
