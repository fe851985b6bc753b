"""The first consent text (个人信息处理同意书, version 1), so that enrollment imports and the
member pages have one to record and show from the start. Later versions are published on the
staff page /staff/consent/ (never by a migration)."""

from django.db import migrations
from django.utils import timezone

BODY = """嵊州市总工会职工医疗互助保障（以下简称“互助保障”）需要处理您的以下个人信息。根据《中华人民共和国个人信息保护法》第二十九条，处理医疗健康、金融账户等敏感个人信息须取得您的单独同意。

一、处理哪些信息
1. 身份信息：姓名、身份证号、手机号；
2. 医保结算数据：嵊州市医疗保障局提供的您的住院医保结算记录（医院、入院和出院日期、诊断、医疗总费用、医保统筹基金支付和个人负担金额）；
3. 银行账户：开户银行和银行账号，用于发放互助金。

二、由谁处理
嵊州市总工会（互助保障的举办者）和您参保所在的工会；医保结算数据由嵊州市医疗保障局依约提供，只用于互助保障。

三、为什么处理
核定您的参保资格，根据医保结算数据自动计算并发放住院医疗互助金（免申即享，您无需提交材料），向您发送办理进度通知。不用于其他目的，不向其他单位提供。

四、保存多久
参保期间，以及最后一个参保年度结束后五年（互助金发放的财务和审计要求）；期满后删除或匿名化处理。

五、您的权利
您可以随时在“职工医疗互助”（/m/）再次阅读本同意书并撤回同意。撤回后，平台不再根据医保结算数据为您自动办理互助金，您仍可以在线提交互助申请；撤回不影响撤回前已办理事项的效力。"""


def forwards(apps, schema_editor):
    ConsentText = apps.get_model("enrollment", "ConsentText")
    if not ConsentText.objects.exists():
        ConsentText.objects.create(
            version=1, title="个人信息处理同意书", body=BODY, published_at=timezone.now()
        )


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0006_consent")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
