from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, StringField


class CreateChildForm(FlaskForm):
    short_name = StringField("组织简称")
    kind = StringField("组织类别")
    is_township = BooleanField("是乡镇（街道）团委（团工委）")


class OrgInfoForm(FlaskForm):
    """Carries CSRF and redisplay; the rules are in domain.orginfo and services.orginfo."""

    kind = StringField("组织类别")
    short_name = StringField("组织简称")
    full_name = StringField("组织全称")
    industry = StringField("单位所属行业类别")
    staff_admin_quota = StringField("本级团组织行政编制数")
    staff_admin_actual = StringField("行政编制实际配备数")
    staff_inst_quota = StringField("本级团组织事业编制数")
    staff_inst_actual = StringField("事业编制实际配备数")
    phone = StringField("联系电话")
    email = StringField("电子邮箱")
    wechat = StringField("团组织微信号")
    weibo = StringField("团组织微博号")
    school_code = StringField("学校标识码")
    youth_count = StringField("14–28周岁青年数")
    party_recommended = StringField("年度经推优入党团员数")
    founded_on = StringField("建立日期")
    secretary_name = StringField("书记姓名")
    secretary_id_number = StringField("书记身份证号码")
    secretary_phone = StringField("书记手机号码")
    secretary_presiding = BooleanField("暂无书记，以上填写的是主持工作的负责人")
    confirmed = HiddenField()
