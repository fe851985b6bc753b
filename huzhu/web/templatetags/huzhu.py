"""Template helpers for the staff pages: `{% load huzhu %}`.

{{ scheme_year.fee_per_member_fen|yuan }}      -> 60.00
{{ total_fen|yuan_label }}                     -> ¥1,234.56
{% if user|can_open:"enrollment_import" %}...  role gate, same table as the views
"""

from django import template

from huzhu.core.money import MoneyError, format_fen, yuan_to_fen
from huzhu.web import permissions

register = template.Library()


@register.filter
def yuan(fen):
    """Integer fen as yuan for people (thousands separators, two decimals); '' for None."""
    if fen is None or fen == "":
        return ""
    return format_fen(int(fen))


@register.filter
def yuan_text(value):
    """An amount already in yuan as text ("41905199.30", as import summaries store it) for
    people: 41,905,199.30. Text that is not an amount is shown as it is."""
    if value is None or value == "":
        return ""
    try:
        return format_fen(yuan_to_fen(str(value)))
    except MoneyError:
        return value


@register.filter
def disease(code):
    """An ICD-10 code with its Chinese disease name when known: C50.901 乳房恶性肿瘤（乳腺癌）."""
    from huzhu.plans.rules.diseases import diagnosis_label

    return diagnosis_label(code) if code else ""


@register.filter
def yuan_label(fen):
    if fen is None or fen == "":
        return ""
    return "¥" + format_fen(int(fen))


@register.filter
def can_open(user, page: str) -> bool:
    return permissions.can_open(user, page)


@register.filter
def can_reveal(user, field: str) -> bool:
    return permissions.has_role(user, permissions.REVEAL_ROLES[field])


@register.simple_tag(takes_context=True)
def query_with(context, **changes):
    """The current query string with some parameters replaced (for pagination links)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return "?" + encoded if encoded else "?"


@register.filter
def get_item(mapping, key):
    """`{{ labels|get_item:status }}`: a dict lookup with a variable key."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


AUDIT_ACTIONS = {
    "member.update": "更正信息",
    "reveal": "查看完整信息",
    "enrollment.withdraw": "退保",
}
FIELD_LABELS = {
    "name": "姓名",
    "id_number": "身份证号",
    "phone": "手机号",
    "bank_name": "开户银行",
    "bank_account": "银行账号",
}


@register.filter
def audit_action(action: str) -> str:
    return AUDIT_ACTIONS.get(action, action)


@register.filter
def audit_summary(event) -> str:
    """One line for people: "手机号 138… → 139…；开户银行 …" or "身份证号" for a reveal.

    The services store bank accounts masked in before/after; nothing is revealed here.
    """
    after = event.after or {}
    if event.action == "reveal":
        return FIELD_LABELS.get(after.get("field"), after.get("field", ""))
    if event.action == "enrollment.withdraw":
        year = after.get("scheme_year")
        return f"{year}年度参保退保：{event.reason}" if year else event.reason
    before = event.before or {}
    parts = []
    for key, new in after.items():
        if key not in FIELD_LABELS:
            continue
        parts.append(f"{FIELD_LABELS[key]}：{before.get(key) or '（空）'} → {new or '（空）'}")
    text = "；".join(parts)
    if event.reason:
        text = f"{text}（{event.reason}）" if text else event.reason
    return text
