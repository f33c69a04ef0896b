"""A code in words, in Chinese and English, from its reason codes and conditions for green.

Pure: the decision and the facts in, sentences out. "Your code is yellow because you missed
the test round of 12 November; it turns green when you take a test."
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fangkong.healthcode.enums import ExitKind
from fangkong.healthcode.facts import PersonFacts
from fangkong.healthcode.schemas import CodeDecision, GreenCondition

# Dates are told in the city's time (China Standard Time, no daylight saving).
CITY_TZ = timezone(timedelta(hours=8))
LOCALES = ("zh_CN", "en")

COLOURS: dict[str, tuple[str, str]] = {
    "green": ("绿码", "green"),
    "yellow": ("黄码", "yellow"),
    "red": ("红码", "red"),
    "withheld": ("暂缓展码", "withheld"),
    "pending": ("待定", "pending"),
    "not_issued": ("不赋码", "not issued"),
}

# {round} is the date the missed round closed.
REASONS: dict[str, tuple[str, str]] = {
    "case": ("您是病例或疑似病例", "you are a case or a suspected case"),
    "positive_pool_awaiting_review": (
        "您所在的混管检测结果为阳性，正在等待单管复核",
        "your pooled test tube was positive and the single-tube recheck is pending",
    ),
    "close_contact": ("您是密切接触者", "you are a close contact of a case"),
    "secondary_contact": ("您是密接的密接", "you are a contact of a close contact"),
    "under_isolation": ("您正在隔离医学观察", "you are under isolation"),
    "under_health_monitoring": ("您正在健康监测", "you are under health monitoring"),
    "lives_in_high_risk_area": ("您居住在高风险区", "you live in a high-risk area"),
    "lives_in_medium_risk_area": ("您居住在中风险区", "you live in a medium-risk area"),
    "visited_high_risk_area": ("您近期到过高风险区", "you were recently in a high-risk area"),
    "visited_medium_risk_area": (
        "您近期到过中风险区",
        "you were recently in a medium-risk area",
    ),
    "spatiotemporal_companion": (
        "您被判定为时空伴随者",
        "you were flagged as a spatio-temporal companion of a case",
    ),
    "key_post_test_overdue": (
        "您所在的重点岗位定期核酸检测已超期",
        "your key-post periodic test is overdue",
    ),
    "arrived_without_test": ("您抵达后尚未检测", "you arrived and have not been tested yet"),
    "skipped_required_round": (
        "您未参加{round}的全员核酸检测",
        "you missed the test round of {round}",
    ),
    "skipped_required_rounds_repeatedly": (
        "您多次未参加全员核酸检测（最近一次{round}）",
        "you missed several test rounds (the latest on {round})",
    ),
    "skipped_required_round_in_risk_area": (
        "您居住在风险区且未参加{round}的全员核酸检测",
        "you live in a risk area and missed the test round of {round}",
    ),
    "no_risk_found": ("未发现风险", "no risk was found"),
    "no_health_code_scheme": ("本规则包不赋健康码", "this rule pack issues no health code"),
    "manual_override": (
        "您的码由工作人员人工设置",
        "your code was set by an official",
    ),
}

# {tests} how many, {by} a date and time.
EXITS: dict[ExitKind, tuple[str, str]] = {
    ExitKind.CASE_CLOSED: ("病例结案（出院或解除隔离）后", "when your case is closed"),
    ExitKind.POOL_RECHECK_NEGATIVE: (
        "单管复核结果为阴性后",
        "when your single-tube recheck comes back negative",
    ),
    ExitKind.CONTACT_RELEASED: ("解除密接管理后", "when you are released as a contact"),
    ExitKind.SUPERVISION_ENDED: (
        "隔离或健康监测结束后",
        "when your isolation or health monitoring ends",
    ),
    ExitKind.AREA_DOWNGRADED: ("所在区域降级后", "when your area is downgraded"),
    ExitKind.TIME_ELAPSES: ("将于{by}自动转绿", "by itself on {by}"),
    ExitKind.TAKE_TEST: ("完成一次核酸检测后", "when you take a test"),
    ExitKind.NEGATIVE_TESTS: (
        "再有{tests}次阴性结果后",
        "when {tests} more negative result(s) arrive",
    ),
    ExitKind.KEY_POST_CLEARED: (
        "重点岗位检测恢复正常后",
        "when your key-post testing is up to date",
    ),
    ExitKind.OVERRIDE_ENDS: ("人工设置于{by}到期后", "when the code set by hand ends on {by}"),
}


@dataclass(frozen=True)
class Explanation:
    locale: str
    colour: str  # the colour in words
    reasons: tuple[str, ...]
    to_green: tuple[str, ...]
    valid_until: str | None

    @property
    def sentence(self) -> str:
        reasons = ("；" if self.locale == "zh_CN" else "; ").join(self.reasons)
        if self.locale == "zh_CN":
            text = f"您的健康码为{self.colour}，因为{reasons}。"
            if self.to_green:
                text += f"{'，'.join(self.to_green)}转为绿码。"
            return text
        text = f"Your code is {self.colour} because {reasons}."
        if self.to_green:
            text += f" It turns green {' and '.join(self.to_green)}."
        return text


def when(moment: datetime, locale: str) -> str:
    local = moment.astimezone(CITY_TZ)
    if locale == "zh_CN":
        return f"{local.month}月{local.day}日 {local:%H:%M}"
    return f"{local.day} {local:%B} {local:%H:%M}"


def day(moment: datetime, locale: str) -> str:
    local = moment.astimezone(CITY_TZ)
    return f"{local.month}月{local.day}日" if locale == "zh_CN" else f"{local.day} {local:%B}"


def _index(locale: str) -> int:
    return 0 if locale == "zh_CN" else 1


def _latest_missed(facts: PersonFacts, now: datetime) -> datetime | None:
    missed = [
        r.closed_at for r in facts.testing.skipped_rounds if not r.is_excused and r.closed_at <= now
    ]
    return max(missed, default=None)


def reason_text(reason: str, *, facts: PersonFacts, now: datetime, locale: str) -> str:
    texts = REASONS.get(reason)
    if texts is None:
        return reason
    missed = _latest_missed(facts, now)
    round_ = day(missed, locale) if missed else ("最近一轮" if locale == "zh_CN" else "late")
    return texts[_index(locale)].format(round=round_)


def exit_text(condition: GreenCondition, locale: str) -> str:
    text = EXITS[condition.kind][_index(locale)]
    by = when(condition.by, locale) if condition.by else ""
    text = text.format(tests=condition.tests or 1, by=by)
    if condition.by and condition.kind in (ExitKind.TAKE_TEST, ExitKind.NEGATIVE_TESTS):
        text += f"（{by}前）" if locale == "zh_CN" else f" (by {by})"
    return text


def explain(
    *, decision: CodeDecision, facts: PersonFacts, now: datetime, locale: str
) -> Explanation:
    locale = locale if locale in LOCALES else "en"
    colour = COLOURS.get(decision.colour, (decision.colour, decision.colour))[_index(locale)]
    return Explanation(
        locale=locale,
        colour=colour,
        reasons=tuple(
            reason_text(r, facts=facts, now=now, locale=locale) for r in decision.reasons
        ),
        to_green=tuple(exit_text(c, locale) for c in decision.to_green),
        valid_until=when(decision.valid_until, locale) if decision.valid_until else None,
    )
