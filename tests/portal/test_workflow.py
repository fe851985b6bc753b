"""Publishing workflow through the real Wagtail admin: 编辑 submits, only 责任编辑 publishes."""

import pytest
from django.urls import reverse
from wagtail.models import Page, WorkflowState
from wagtail.rich_text import RichText
from wagtail.test.utils.form_data import (
    nested_form_data,
    querydict_from_html,
    rich_text,
    streamfield,
)

from huzhu.organizations.demo import DEMO_PASSWORD
from huzhu.portal.models import ArticlePage, SectionPage
from tests.portal.conftest import page_text


@pytest.fixture
def draft_notice(portal):
    """A notice the editor `editor` has written and saved as a draft (not yet submitted)."""
    from huzhu.organizations.models import User

    editor = User.objects.get(username="editor")
    section = SectionPage.objects.get(slug="tzgg")
    notice = ArticlePage(
        title="关于开展2026年度会员信息核对的通知",
        slug="member-check-2026",
        subtitle="请各基层工会于月底前完成",
        body=[
            ("paragraph", RichText("<p>各基层工会：请核对本单位参加职工的身份证号和银行卡号。</p>"))
        ],
        live=False,
        owner=editor,
    )
    section.add_child(instance=notice)
    notice.save_revision(user=editor)
    return notice


def _login(client, username):
    assert client.login(username=username, password=DEMO_PASSWORD)


def _edit_form(client, page, **changes):
    response = client.get(reverse("wagtailadmin_pages:edit", args=[page.pk]))
    assert response.status_code == 200
    data = querydict_from_html(response.content.decode(), form_id="page-edit-form")
    data = data.copy()
    # The StreamField editor is drawn by JavaScript: post the body as the browser would.
    body = [("paragraph", rich_text(b.value.source)) for b in page.specific.body]
    attachments = streamfield([])  # the 附件 field, empty
    for key, value in nested_form_data(
        {"body": streamfield(body), "attachments": attachments}
    ).items():
        data[key] = value
    for key, value in changes.items():
        data[key] = value
    return data


def _approve(client, page):
    state = WorkflowState.objects.for_instance(page).get(status=WorkflowState.STATUS_IN_PROGRESS)
    url = reverse(
        "wagtailadmin_pages:workflow_action",
        args=[page.pk, "approve", state.current_task_state_id],
    )
    return client.post(url, {})


def test_editor_can_log_in_to_the_admin_but_cannot_publish(client, draft_notice):
    _login(client, "editor")
    assert client.get(reverse("wagtailadmin_home")).status_code == 200
    data = _edit_form(client, draft_notice, **{"action-publish": "publish"})
    client.post(reverse("wagtailadmin_pages:edit", args=[draft_notice.pk]), data)
    draft_notice.refresh_from_db()
    assert not draft_notice.live
    assert not WorkflowState.objects.for_instance(draft_notice).exists()


def test_editor_submits_and_only_the_chief_editor_approves_and_publishes(client, draft_notice):
    # Given the editor submits the notice for moderation
    _login(client, "editor")
    data = _edit_form(client, draft_notice, **{"action-submit": "submit"})
    response = client.post(reverse("wagtailadmin_pages:edit", args=[draft_notice.pk]), data)
    assert response.status_code == 302
    draft_notice.refresh_from_db()
    assert not draft_notice.live
    state = WorkflowState.objects.for_instance(draft_notice).get()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert state.requested_by.username == "editor"
    assert client.get(draft_notice.url or "/xxgk/tzgg/member-check-2026/").status_code == 404

    # When the editor tries to approve it himself, it is refused (Wagtail's admin answers a
    # permission error with a redirect to the dashboard) and nothing changes
    response = _approve(client, draft_notice)
    assert response.status_code in (302, 403)
    if response.status_code == 302:
        assert response.url == reverse("wagtailadmin_home")
    draft_notice.refresh_from_db()
    assert not draft_notice.live
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_IN_PROGRESS
    assert state.current_task_state.status == "in_progress"

    # When the chief editor approves it
    client.logout()
    _login(client, "chief")
    response = _approve(client, draft_notice)
    assert response.status_code in (200, 302)
    draft_notice.refresh_from_db()
    assert draft_notice.live
    state.refresh_from_db()
    assert state.status == WorkflowState.STATUS_APPROVED

    # Then the public page shows both names, taken from the workflow record
    client.logout()
    text = page_text(client.get("/xxgk/tzgg/member-check-2026/"))
    assert "编辑:网站编辑 责任编辑:嵊州采编01" in text
    assert "关于开展2026年度会员信息核对的通知" in text


def test_bylines_follow_the_users_not_typed_fields(portal, draft_notice):
    """Renaming the users changes what the page shows: the names are not copied anywhere."""
    from huzhu.organizations.models import User
    from huzhu.portal.selectors import article_bylines
    from huzhu.portal.services import WORKFLOW_NAME

    editor, chief = User.objects.get(username="editor"), User.objects.get(username="chief")
    from wagtail.models import Workflow

    state = Workflow.objects.get(name=WORKFLOW_NAME).start(draft_notice, editor)
    state.current_task_state.specific.approve(user=chief)
    page = ArticlePage.objects.get(pk=draft_notice.pk)
    assert article_bylines(page=page) == type(article_bylines(page=page))("网站编辑", "嵊州采编01")
    User.objects.filter(pk=editor.pk).update(first_name="张三")
    User.objects.filter(pk=chief.pk).update(first_name="李四")
    assert (article_bylines(page=page).editor, article_bylines(page=page).chief_editor) == (
        "张三",
        "李四",
    )


def test_chief_editor_may_publish_directly_and_is_shown_as_both(client, portal):
    from huzhu.organizations.models import User
    from huzhu.portal.selectors import article_bylines

    chief = User.objects.get(username="chief")
    section = SectionPage.objects.get(slug="zcwj")
    page = ArticlePage(
        title="嵊州市职工医疗互助保障实施办法",
        slug="measures",
        body=[("paragraph", RichText("<p>第一条 为保障职工权益……</p>"))],
        live=False,
    )
    section.add_child(instance=page)
    _login(client, "chief")
    data = _edit_form(client, page, **{"action-publish": "publish"})
    client.post(reverse("wagtailadmin_pages:edit", args=[page.pk]), data)
    page = ArticlePage.objects.get(pk=page.pk)
    assert page.live
    assert article_bylines(page=page).editor == chief.first_name
    assert article_bylines(page=page).chief_editor == chief.first_name


def test_groups_follow_the_portal_roles(portal):
    from huzhu.organizations.models import Role, User
    from huzhu.portal.services import portal_groups_sync

    editor = User.objects.get(username="editor")
    assert list(editor.groups.values_list("name", flat=True)) == ["编辑"]
    assert list(User.objects.get(username="chief").groups.values_list("name", flat=True)) == [
        "责任编辑"
    ]
    editor.role = Role.PORTAL_CHIEF_EDITOR
    editor.save()
    assert portal_groups_sync(user=editor) == ["责任编辑"]
    editor.role = Role.UNION_OPERATOR
    editor.save()
    assert portal_groups_sync(user=editor) == []
    assert not Page.objects.filter(pk=0).exists()
