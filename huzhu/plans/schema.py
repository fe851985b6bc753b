"""The plan file (互助方案): a pydantic model, frozen, amounts in integer fen.

`plan_from_yaml(text)` returns a frozen `Plan` or raises `PlanError` listing every
problem with its path, e.g. `benefits[0].tiers[1].up_to: 必须大于前一档的上限`.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cached_property, lru_cache
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from huzhu.core.money import MoneyError, yuan_to_fen

__all__ = [
    "BASE_FIELDS",
    "Plan",
    "PlanError",
    "PlanProblem",
    "InpatientBenefit",
    "LumpSumBenefit",
    "Tier",
    "Deductible",
    "Cap",
    "Period",
    "plan_from_yaml",
    "plan_read_file",
    "plan_from_file",
    "plan_from_data",
    "plan_move_to_year",
    "plan_content_hash",
    "diagnosis_matches",
    "normalize_diagnosis",
]

# Settlement-record fields a plan may use as the inpatient base.
BASE_FIELDS = ("self_pay_in_policy", "self_pay_out_policy", "total_cost", "fund_paid")
RATIO_SCALE = 10_000  # ratios have at most 4 decimals: kept exactly as integer 1/10000ths


class PlanProblem(BaseModel):
    model_config = ConfigDict(frozen=True)
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class PlanError(ValueError):
    """A plan file that does not validate; `problems` lists every one of them."""

    code = "plan_invalid"

    def __init__(self, problems: list[PlanProblem]) -> None:
        self.problems = problems
        self.message = "互助方案文件有误：\n" + "\n".join(f"  {p}" for p in problems)
        super().__init__(self.message)


# --- field types ----------------------------------------------------------------------


def _to_fen(value: Any) -> int:
    if isinstance(value, bool) or value is None:
        raise PydanticCustomError("money", '应为金额（元，如 "500.00"）')
    try:
        fen = yuan_to_fen(value)
    except MoneyError as e:
        raise PydanticCustomError("money", "金额有误：{m}", {"m": e.message}) from None
    if fen < 0:
        raise PydanticCustomError("money_negative", "金额不能为负数")
    return fen


def _to_ratio(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise PydanticCustomError("ratio", '应为比例（如 "0.50"）')
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise PydanticCustomError("ratio", '应为比例（如 "0.50"）') from None
    if not d.is_finite():
        raise PydanticCustomError("ratio", '应为比例（如 "0.50"）')
    if d * RATIO_SCALE != (d * RATIO_SCALE).to_integral_value():
        raise PydanticCustomError("ratio_decimals", "比例最多4位小数")
    if d < 0 or d > 1:
        raise PydanticCustomError("ratio_range", "比例应在0到1之间")
    return d


def _to_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise PydanticCustomError("date", "应为日期（YYYY-MM-DD）")


Fen = Annotated[int, BeforeValidator(_to_fen)]
Ratio = Annotated[Decimal, BeforeValidator(_to_ratio)]
Day = Annotated[date, BeforeValidator(_to_date)]

_DIAG_CODE_RE = re.compile(r"^[A-Z][0-9A-Z]{1,7}$")
_DIAG_RANGE_RE = re.compile(r"^([A-Z][0-9]{2})-([A-Z][0-9]{2})$")


def normalize_diagnosis(code: str | None) -> str:
    """ICD-10 code as matched: upper-case, dots and spaces removed (C50.901 -> C50901)."""
    if not code:
        return ""
    # No strip(): callers pass trimmed text; the bulk engine does exactly these steps.
    return code.upper().replace(".", "").replace(" ", "")


def _to_diagnosis_entry(value: Any) -> str:
    if not isinstance(value, str):
        raise PydanticCustomError("diagnosis", '诊断编码应为文本，如 "C50" 或 "C00-C97"')
    text = value.strip().upper().replace(".", "").replace(" ", "")
    m = _DIAG_RANGE_RE.match(text)
    if m:
        if m.group(1) > m.group(2):
            raise PydanticCustomError("diagnosis_range", "诊断编码范围的起点大于终点")
        return text
    if "-" in text or not _DIAG_CODE_RE.match(text):
        raise PydanticCustomError(
            "diagnosis", "诊断编码应为ICD-10编码（如 C50）或三位编码范围（如 C00-C97）"
        )
    return text


DiagnosisEntry = Annotated[str, BeforeValidator(_to_diagnosis_entry)]


@lru_cache(maxsize=65536)
def diagnosis_matches(entries: tuple[str, ...], code: str | None) -> bool:
    """True when the (raw) diagnosis code matches one of a benefit's entries."""
    norm = normalize_diagnosis(code)
    if not norm:
        return False
    head = norm[:3]
    for entry in entries:
        if "-" in entry:
            lo, hi = entry.split("-")
            if len(norm) >= 3 and lo <= head <= hi:
                return True
        elif norm.startswith(entry):
            return True
    return False


# --- models ---------------------------------------------------------------------------

_FROZEN = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class Period(BaseModel):
    model_config = _FROZEN
    start: Day
    end: Day

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


class Deductible(BaseModel):
    model_config = _FROZEN
    amount_fen: Fen = Field(alias="amount")
    per: Literal["year", "stay"]


class Cap(BaseModel):
    model_config = _FROZEN
    amount_fen: Fen = Field(alias="amount")
    per: Literal["year"] = "year"


class Tier(BaseModel):
    model_config = _FROZEN
    up_to_fen: Fen | None = Field(default=None, alias="up_to")
    ratio: Ratio

    @property
    def ratio_units(self) -> int:
        """The ratio in exact 1/10000ths (0.5 -> 5000)."""
        return int(self.ratio * RATIO_SCALE)


class InpatientBenefit(BaseModel):
    model_config = _FROZEN
    kind: Literal["inpatient"] = "inpatient"
    code: Annotated[str, Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")]
    name: Annotated[str, Field(min_length=1)]
    base: Literal[BASE_FIELDS]  # type: ignore[valid-type]
    deductible: Deductible | None = None
    tiers: Annotated[tuple[Tier, ...], Field(min_length=1)]
    cap: Cap | None = None

    @property
    def deductible_fen(self) -> int:
        return self.deductible.amount_fen if self.deductible else 0

    @property
    def deductible_per_stay(self) -> bool:
        return bool(self.deductible and self.deductible.per == "stay")

    @property
    def cap_fen(self) -> int | None:
        return self.cap.amount_fen if self.cap else None

    def bands(self) -> list[tuple[int, int | None, int]]:
        """[(lower_fen, upper_fen or None for open, ratio_units)] over cumulative excess."""
        return list(self._bands)

    @cached_property
    def _bands(self) -> tuple[tuple[int, int | None, int], ...]:
        out, lower = [], 0
        for tier in self.tiers:
            out.append((lower, tier.up_to_fen, tier.ratio_units))
            lower = tier.up_to_fen if tier.up_to_fen is not None else lower
        return tuple(out)


class LumpSumBenefit(BaseModel):
    model_config = _FROZEN
    kind: Literal["lump_sum"] = "lump_sum"
    code: Annotated[str, Field(min_length=1, pattern=r"^[a-z][a-z0-9_]*$")]
    name: Annotated[str, Field(min_length=1)]
    lump_sum_fen: Fen = Field(alias="lump_sum")
    diagnoses: Annotated[tuple[DiagnosisEntry, ...], Field(min_length=1)]
    sex: Literal["male", "female"] | None = None
    once_per: Literal["year", "lifetime"]

    def matches(self, diagnosis_code: str | None, sex: str | None) -> bool:
        if self.sex is not None and sex != self.sex:
            return False
        return diagnosis_matches(self.diagnoses, diagnosis_code)


class Plan(BaseModel):
    model_config = _FROZEN
    year: Annotated[int, Field(ge=2000, le=2100)]
    name: Annotated[str, Field(min_length=1)]
    period: Period
    fee_per_member_fen: Fen = Field(alias="fee_per_member")
    waiting_period_days: Annotated[int, Field(ge=0, le=3660)]
    claim_window_days: Annotated[int, Field(ge=1, le=36600)]
    benefits: tuple[InpatientBenefit | LumpSumBenefit, ...]

    @cached_property
    def inpatient(self) -> InpatientBenefit:
        return next(b for b in self.benefits if isinstance(b, InpatientBenefit))

    @cached_property
    def lump_sums(self) -> tuple[LumpSumBenefit, ...]:
        return tuple(b for b in self.benefits if isinstance(b, LumpSumBenefit))


# --- loading --------------------------------------------------------------------------

_PYDANTIC_MESSAGES = {
    "missing": "缺少此项",
    "extra_forbidden": "未知的项",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "greater_than_equal": "数值太小（不小于{ge}）",
    "less_than_equal": "数值太大（不大于{le}）",
    "string_type": "应为文本",
    "string_too_short": "不能为空",
    "string_pattern_mismatch": "只能用小写英文字母、数字和下划线，且以字母开头",
    "too_short": "至少需要一项",
    "tuple_type": "应为列表",
    "model_type": "应为一组键值",
    "model_attributes_type": "应为一组键值",
    "dict_type": "应为一组键值",
}


def _kind_of(raw: Any) -> str | None:
    if not isinstance(raw, dict):
        return None
    if "kind" in raw:
        return raw["kind"] if raw["kind"] in ("inpatient", "lump_sum") else None
    if "tiers" in raw or "base" in raw:
        return "inpatient"
    if "lump_sum" in raw:
        return "lump_sum"
    return None


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _alias_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    names = {
        "amount_fen": "amount",
        "up_to_fen": "up_to",
        "lump_sum_fen": "lump_sum",
        "fee_per_member_fen": "fee_per_member",
    }
    return tuple(names.get(p, p) if isinstance(p, str) else p for p in loc)


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "literal_error":
        expected = (err.get("ctx") or {}).get("expected", "")
        return f"取值无效，应为以下之一：{expected}"
    template = _PYDANTIC_MESSAGES.get(kind)
    if template:
        try:
            return template.format(**(err.get("ctx") or {}))
        except (KeyError, IndexError):
            return template
    return err["msg"]


def _cross_checks(data: dict[str, Any]) -> list[PlanProblem]:
    """Checks across fields, run on the raw data so they report alongside field errors."""
    problems: list[PlanProblem] = []

    def add(path: str, message: str) -> None:
        problems.append(PlanProblem(path=path, message=message))

    period = data.get("period")
    if isinstance(period, dict):
        try:
            start, end = _to_date(period.get("start")), _to_date(period.get("end"))
        except PydanticCustomError:
            pass
        else:
            if end < start:
                add("period.end", "结束日期早于开始日期")
            year = data.get("year")
            if (
                isinstance(year, int)
                and not isinstance(year, bool)
                and year not in (start.year, end.year)
            ):
                add("period", f"期间应落在{year}年度")

    benefits = data.get("benefits")
    if not isinstance(benefits, list):
        if benefits is not None:
            add("benefits", "应为列表")
        return problems
    seen: dict[str, int] = {}
    inpatient_count = 0
    for i, raw in enumerate(benefits):
        kind = _kind_of(raw)
        if kind is None:
            add(
                f"benefits[{i}]",
                "未知的补助类型：住院补助需有 base/tiers，一次性补助需有 lump_sum",
            )
            continue
        code = raw.get("code")
        if isinstance(code, str):
            if code in seen:
                add(f"benefits[{i}].code", f"与 benefits[{seen[code]}] 的编码“{code}”重复")
            else:
                seen[code] = i
        if kind != "inpatient":
            continue
        inpatient_count += 1
        tiers = raw.get("tiers")
        if not isinstance(tiers, list):
            continue
        previous: int | None = None
        for j, tier in enumerate(tiers):
            if not isinstance(tier, dict):
                continue
            up_to = tier.get("up_to")
            last = j == len(tiers) - 1
            if up_to is None:
                if not last:
                    add(f"benefits[{i}].tiers[{j}].up_to", "只有最后一档可以不设上限")
                continue
            if last:
                add(f"benefits[{i}].tiers[{j}].up_to", "最后一档不能设上限（应为开放档）")
            try:
                fen = _to_fen(up_to)
            except PydanticCustomError:
                continue
            if fen <= (previous if previous is not None else 0):
                add(f"benefits[{i}].tiers[{j}].up_to", "必须大于前一档的上限")
            previous = fen
    if inpatient_count != 1:
        add("benefits", f"必须恰好有一项住院补助（inpatient），现有{inpatient_count}项")
    return problems


def plan_from_data(data: Any) -> Plan:
    """Validate already-parsed plan data (a dict from YAML) into a frozen Plan."""
    if not isinstance(data, dict):
        raise PlanError([PlanProblem(path="", message="方案文件应为一组键值（YAML 映射）")])
    prepared = dict(data)
    if isinstance(data.get("benefits"), list):
        benefits = []
        for raw in data["benefits"]:
            kind = _kind_of(raw)
            if kind is not None and "kind" not in raw:
                raw = {"kind": kind, **raw}
            benefits.append(raw)
        prepared["benefits"] = benefits

    problems: list[PlanProblem] = []
    plan: Plan | None = None
    try:
        plan = Plan.model_validate(prepared)
    except ValidationError as exc:
        for err in exc.errors():
            loc = list(err["loc"])
            # A union reports under the tag of each member; keep only the matching kind.
            if len(loc) >= 3 and loc[0] == "benefits" and isinstance(loc[1], int):
                raw = prepared["benefits"][loc[1]]
                tag = loc[2]
                if tag in ("InpatientBenefit", "LumpSumBenefit"):
                    wanted = {"inpatient": "InpatientBenefit", "lump_sum": "LumpSumBenefit"}
                    if wanted.get(_kind_of(raw) or "") != tag:
                        continue
                    loc = loc[:2] + loc[3:]
            if loc[-1:] == ["kind"]:
                continue
            problems.append(PlanProblem(path=_path(_alias_loc(tuple(loc))), message=_message(err)))
    for extra in _cross_checks(data):
        if extra not in problems:
            problems.append(extra)
    if problems:
        # Deduplicate, keep order.
        unique = list(dict.fromkeys(problems))
        raise PlanError(unique)
    assert plan is not None
    return plan


class _PlanLoader(yaml.SafeLoader):
    """Safe YAML without aliases: a plan never needs them, and nested aliases expand
    exponentially once validated (a "billion laughs" file)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            raise yaml.composer.ComposerError(
                None, None, "方案文件不支持YAML别名（*名称）", self.peek_event().start_mark
            )
        return super().compose_node(parent, index)


def plan_from_yaml(text: str) -> Plan:
    """Parse and validate a plan file's text; raises PlanError listing every problem."""
    try:
        data = yaml.load(text, Loader=_PlanLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"第{mark.line + 1}行第{mark.column + 1}列" if mark else ""
        raise PlanError([PlanProblem(path="", message=f"YAML 格式错误{where}：{e}")]) from None
    return plan_from_data(data)


PLAN_MAX_BYTES = 1024 * 1024  # a plan file is a few KB
_BINARY_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG", b"\xff\xd8\xff")


def plan_read_file(path) -> str:
    """The text of a plan file, checked before YAML sees it: not empty, at most
    PLAN_MAX_BYTES, text (not a workbook, PDF or image), UTF-8 (a BOM is fine).
    Raises PlanError whose message names the file, not the directory."""
    name = os.path.basename(str(path))

    def refuse(message: str) -> PlanError:
        return PlanError([PlanProblem(path="", message=message)])

    try:
        with open(path, "rb") as fh:
            data = fh.read(PLAN_MAX_BYTES + 1)
    except OSError as e:
        raise refuse(f"无法读取方案文件“{name}”：{e.strerror or '读取失败'}") from None
    if not data.strip():
        raise refuse(f"方案文件“{name}”是空的")
    if len(data) > PLAN_MAX_BYTES:
        raise refuse(f"方案文件“{name}”超过{PLAN_MAX_BYTES // 1024} KB，不像是互助方案文件")
    if data.startswith(_BINARY_MAGIC) or b"\x00" in data:
        raise refuse(f"方案文件“{name}”不是文本文件（应为UTF-8编码的YAML）")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise refuse(f"方案文件“{name}”不是UTF-8编码（第{line}行有无法识别的字节）") from None


def plan_from_file(path: str) -> tuple[Plan, str]:
    """Read a plan file (UTF-8): returns (plan, source text)."""
    text = plan_read_file(path)
    return plan_from_yaml(text), text


def plan_content_hash(text: str) -> str:
    """SHA-256 of the plan file's text (normalised line ends): the version identity."""
    normal = text.replace("\r\n", "\n").lstrip("\ufeff")
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def _shift_year(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def plan_move_to_year(plan: Plan, year: int) -> Plan:
    """The same plan with its year and period moved onto `year` (simulate --as-year)."""
    shift = year - plan.year
    if shift == 0:
        return plan
    period = Period(
        start=_shift_year(plan.period.start, shift), end=_shift_year(plan.period.end, shift)
    )
    return plan.model_copy(update={"year": year, "period": period})
