from django.template import Context, Template


def render(source: str, **context) -> str:
    return Template("{% load huzhu %}" + source).render(Context(context))


def test_yuan_formats_fen_with_thousands_separators():
    assert render("{{ v|yuan }}", v=123456) == "1,234.56"
    assert render("{{ v|yuan }}", v=-5) == "-0.05"
    assert render("{{ v|yuan }}", v=None) == ""


def test_yuan_label_adds_the_currency_sign():
    assert render("{{ v|yuan_label }}", v=6000) == "¥60.00"
