"""Reads of enrollments: renewal and coverage start are derived here, never stored.

domain.md: an enrollment is a *renewal* when the member has an (active) enrollment, through
any union, in the previous scheme year; coverage starts at the scheme year's start for a
renewal, and at enrolled_on + waiting_period_days for a new enrollment.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from django.db import connection, models
from django.db.models import Case, Exists, F, OuterRef, QuerySet, When
from django.db.models.expressions import RawSQL

from huzhu.core.bulk import values_in

from .models import Enrollment

__all__ = [
    "AddDays",
    "enrollment_cover_begun",
    "enrollment_coverage_start",
    "enrollment_is_renewal",
    "enrollments_with_coverage",
    "renewal_exists",
    "renewal_member_ids",
    "renewal_sql",
]


class AddDays(models.Func):
    """date + integer days, as a date, on SQLite and PostgreSQL."""

    output_field = models.DateField()
    arity = 2

    def as_sql(self, compiler, connection, **extra):  # PostgreSQL: date + integer = date
        return super().as_sql(
            compiler, connection, template="(%(expressions)s)", arg_joiner=" + ", **extra
        )

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler,
            connection,
            template="date(%(expressions)s || ' days')",
            arg_joiner=", '+' || ",
            **extra,
        )


def _previous_year_enrollments(year_ref) -> QuerySet:
    """The renewal rule, written once: active enrollments (any union) in the scheme year
    before `year_ref` (a value or an expression)."""
    return Enrollment.objects.filter(scheme_year__year=year_ref - 1, withdrawn_at__isnull=True)


def _previous_year_enrollment(member_ref, year_ref) -> QuerySet:
    """The rule for one member (`member_ref` a value or an expression)."""
    return _previous_year_enrollments(year_ref).filter(member_id=member_ref)


def renewal_exists(member_ref=None, year_ref=None) -> Exists:
    """The renewal rule as an expression: by default for the enrollment rows of the query it
    annotates (`OuterRef("member_id")`, `OuterRef("scheme_year__year")`); pass other refs for
    another model's rows (e.g. `OuterRef("member_id")` and a year number)."""
    return Exists(
        _previous_year_enrollment(
            OuterRef("member_id") if member_ref is None else member_ref,
            OuterRef("scheme_year__year") if year_ref is None else year_ref,
        )
    )


def renewal_sql(member_sql: str, year_sql: str) -> tuple[str, list]:
    """The renewal rule as an SQL `EXISTS (...)` over raw column references (`member_sql` the
    member id, `year_sql` the scheme year number), compiled from the same query, for raw
    statements (the one-stop lookup). Returns (sql, params)."""
    from django.db.models import IntegerField

    query = _previous_year_enrollment(
        RawSQL(member_sql, [], output_field=IntegerField()),
        RawSQL(year_sql, [], output_field=IntegerField()),
    ).values("id")[:1]
    sql, params = query.query.get_compiler(connection=connection).as_sql()
    return f"EXISTS ({sql})", list(params)


def renewal_member_ids(member_ids: Sequence[int], year: int) -> set[int]:
    """The renewal rule for many members at once (the rows of an enrollment file): those of
    `member_ids` whose enrollment in scheme year `year` is a renewal. One query whatever the
    count: the ids travel as one parameter (`huzhu.core.bulk.values_in`)."""
    if not member_ids:
        return set()
    qn = connection.ops.quote_name
    column = f"{qn(Enrollment._meta.db_table)}.{qn(Enrollment._meta.get_field('member').column)}"
    where, params = values_in(column, member_ids)
    among = RawSQL(where, params, output_field=models.BooleanField())
    return set(_previous_year_enrollments(year).filter(among).values_list("member_id", flat=True))


def enrollment_is_renewal(enrollment) -> bool:
    """domain.md: a renewal when the member has an active enrollment, through any union, in
    the previous scheme year (read from the `is_renewal` annotation when the row has it)."""
    annotated = getattr(enrollment, "is_renewal", None)
    if annotated is not None:
        return bool(annotated)
    return _previous_year_enrollment(enrollment.member_id, enrollment.scheme_year.year).exists()


def enrollment_coverage_start(enrollment) -> date:
    annotated = getattr(enrollment, "coverage_start", None)
    if annotated is not None:
        return annotated
    if enrollment_is_renewal(enrollment):
        return enrollment.scheme_year.start
    return enrollment.enrolled_on + timedelta(days=enrollment.scheme_year.waiting_period_days)


def enrollment_cover_begun(enrollment, *, today: date) -> bool:
    """True once the enrollment gives cover: its coverage start has come and lies inside
    its scheme year (a start after the year's end means it never gives cover)."""
    start = enrollment_coverage_start(enrollment)
    return start <= enrollment.scheme_year.end and today >= start


def enrollments_with_coverage(qs: QuerySet | None = None) -> QuerySet:
    """`qs` (default: all enrollments) annotated with `is_renewal` and `coverage_start`."""
    if qs is None:
        qs = Enrollment.objects.all()
    return qs.annotate(is_renewal=renewal_exists()).annotate(
        coverage_start=Case(
            When(is_renewal=True, then=F("scheme_year__start")),
            default=AddDays(F("enrolled_on"), F("scheme_year__waiting_period_days")),
            output_field=models.DateField(),
        )
    )
