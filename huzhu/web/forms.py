"""Forms of the staff pages. They parse and check input shape; rules live in the services."""

from __future__ import annotations

from pathlib import PurePath

from django import forms
from django.utils.translation import gettext_lazy as _

from huzhu.enrollment.models import SchemeYear
from huzhu.organizations.selectors import union_list_visible

MAX_UPLOAD_BYTES = 30 * 1024 * 1024
IMPORT_SUFFIXES = {".xlsx", ".xls", ".ods", ".csv"}


class MemberSearchForm(forms.Form):
    q = forms.CharField(
        label=_("姓名或身份证号"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": _("姓名 / 身份证号（可输入后四位）")}),
    )
    union = forms.ModelChoiceField(
        label=_("工会"), queryset=None, required=False, empty_label=_("全部工会")
    )
    year = forms.TypedChoiceField(label=_("年度"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["union"].queryset = union_list_visible(user).order_by("code")
        self.fields["year"].choices = [("", _("全部年度"))] + [
            (y, f"{y}年度") for y in SchemeYear.objects.values_list("year", flat=True)
        ]


class MemberCorrectionForm(forms.Form):
    """An operator corrects a member's details. An empty ID number, phone or bank account keeps
    the stored one (they are not put into the page: that would reveal them without an audit)."""

    name = forms.CharField(label=_("姓名"), max_length=64)
    # Not prefilled: showing the clear number would be an unaudited reveal.
    id_number = forms.CharField(
        label=_("身份证号"),
        max_length=32,
        required=False,
        help_text=_("留空表示不修改；更正后性别和出生日期随之更新"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    phone = forms.CharField(
        label=_("手机号"),
        max_length=20,
        required=False,
        help_text=_("留空表示不修改"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    bank_name = forms.CharField(label=_("开户银行"), max_length=128, required=False)
    bank_account = forms.CharField(
        label=_("银行账号"),
        max_length=40,
        required=False,
        help_text=_("留空表示不修改"),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def changes(self, member) -> dict:
        """Only the fields whose value differs from the member's (trimmed)."""
        data = {k: (v or "").strip() for k, v in self.cleaned_data.items()}
        changes = {}
        for field in ("name", "bank_name"):
            if data[field] != getattr(member, field):
                changes[field] = data[field]
        for field in ("id_number", "phone", "bank_account"):
            if data[field]:
                changes[field] = data[field]
        return changes


class RevealForm(forms.Form):
    field = forms.ChoiceField(
        choices=[("id_number", "id_number"), ("phone", "phone"), ("bank_account", "bank_account")]
    )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("退保原因"),
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("必填，例如：已离职、重复登记")}),
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("请填写退保原因"))
        return reason


class EnrollmentImportForm(forms.Form):
    scheme_year = forms.ModelChoiceField(
        label=_("年度"), queryset=SchemeYear.objects.order_by("-year"), empty_label=None
    )
    union = forms.ModelChoiceField(label=_("工会"), queryset=None, required=False)
    enrolled_on = forms.DateField(
        label=_("参保日期"),
        required=False,
        help_text=_("可选。导入往年记录时填写；不填则文件中的“参保日期”列或今天。"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    file = forms.FileField(
        label=_("名单文件"),
        help_text=_(
            "Excel（.xlsx / .xls）或 CSV（UTF-8 或 GBK）；表头：姓名、身份证号、手机号、开户银行、银行账号、参保日期"
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".xlsx,.xls,.ods,.csv"}),
    )
    # PIPL art. 29: the union collected each member's separate consent on the paper form.
    consent_attested = forms.BooleanField(
        label=_(
            "我确认：名单中的每位职工都已在参保登记表上签署《个人信息处理同意书》"
            "（“同意书”一列填“否”的职工除外，这些职工的医保结算数据将转人工审核、不自动发放）"
        ),
        required=True,
        error_messages={"required": _("请确认职工已签署个人信息处理同意书，否则不能导入。")},
    )

    def __init__(self, *args, user, federation: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.federation = federation
        if federation:
            self.fields["union"].queryset = union_list_visible(user).order_by("code")
            self.fields["union"].required = True
        else:
            # An operator imports for their own union only: no choice offered.
            del self.fields["union"]

    def clean_file(self):
        upload = self.cleaned_data["file"]
        suffix = PurePath(upload.name).suffix.lower()
        if suffix not in IMPORT_SUFFIXES:
            raise forms.ValidationError(_("请上传 Excel（.xlsx / .xls）或 CSV 文件。"))
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("文件过大（上限 30 MB）。"))
        if upload.size == 0:
            raise forms.ValidationError(_("文件是空的。"))
        return upload

    def clean(self):
        data = super().clean()
        if not self.federation:
            data["union"] = self.user.union
            if self.user.union is None:
                raise forms.ValidationError(_("您的账号没有所属工会，无法导入。"))
        return data


class FeeStatementForm(forms.Form):
    year = forms.ModelChoiceField(
        label=_("年度"),
        queryset=SchemeYear.objects.order_by("-year"),
        to_field_name="year",
        empty_label=None,
        required=False,
    )


class FeeReceiptForm(forms.Form):
    """会费到账登记: one payment of a union toward its fee of a year (finance)."""

    union = forms.ModelChoiceField(label=_("缴费工会"), queryset=None, to_field_name="code")
    year = forms.ModelChoiceField(
        label=_("年度"), queryset=SchemeYear.objects.order_by("-year"), to_field_name="year"
    )
    amount = forms.CharField(label=_("到账金额（元）"), max_length=20)
    received_on = forms.DateField(
        label=_("到账日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    payer_name = forms.CharField(label=_("付款户名"), max_length=128, required=False)
    note = forms.CharField(label=_("备注"), max_length=500, required=False)
    voucher = forms.FileField(label=_("凭证（图片或PDF）"), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["union"].queryset = union_list_visible(user).order_by("code")

    def clean_amount(self):
        from huzhu.core.money import MoneyError, yuan_to_fen

        try:
            fen = yuan_to_fen(self.cleaned_data["amount"])
        except MoneyError as exc:
            raise forms.ValidationError(exc.message)
        if fen <= 0:
            raise forms.ValidationError(_("到账金额必须大于0"))
        return fen


class StaffAccountForm(forms.Form):
    """Create or change a staff login (the rules are in organizations.accounts)."""

    username = forms.CharField(label=_("用户名"), max_length=150)
    first_name = forms.CharField(label=_("姓名"), max_length=150, required=False)
    role = forms.ChoiceField(label=_("角色"), choices=())
    union = forms.ModelChoiceField(label=_("所属工会"), queryset=None, empty_label=_("请选择"))
    is_active = forms.BooleanField(label=_("可以登录"), required=False, initial=True)

    def __init__(self, *args, editing: bool = False, **kwargs):
        from huzhu.organizations.accounts import STAFF_ROLE_CHOICES
        from huzhu.organizations.models import Union

        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("请选择"))] + STAFF_ROLE_CHOICES
        self.fields["union"].queryset = Union.objects.order_by("code")
        if editing:
            self.fields["username"].disabled = True
        else:
            del self.fields["is_active"]


class StaffAccountFilterForm(forms.Form):
    q = forms.CharField(label=_("用户名或姓名"), required=False, max_length=64)
    role = forms.ChoiceField(label=_("角色"), required=False, choices=())

    def __init__(self, *args, **kwargs):
        from huzhu.organizations.accounts import STAFF_ROLE_CHOICES

        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("全部角色"))] + STAFF_ROLE_CHOICES
