from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField


class CreateChildForm(FlaskForm):
    short_name = StringField("组织简称")
    kind = StringField("组织类别")
    is_township = BooleanField("是乡镇（街道）团委（团工委）")
