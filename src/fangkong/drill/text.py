"""The drill reports' own catalogue: every label in zh-CN and en.

Like the health-code explanations (``fangkong.healthcode.explain``), the reports are written
outside the web layer (the CLI writes them to files), so they carry their own texts instead of
the web's gettext catalogues. zh-CN is the default, as in the app.
"""

from __future__ import annotations

from fangkong.healthcode.explain import COLOURS

LOCALES = ("zh_CN", "en")
LANGUAGE_TAGS = {"zh_CN": "zh-CN", "en": "en"}

# message id -> (zh_CN, en)
TEXTS: dict[str, tuple[str, str]] = {
    "title": ("演练报告", "Drill report"),
    "compare_title": ("演练对比", "Drill comparison"),
    "rule pack": ("规则包", "rule pack"),
    "seed": ("随机种子", "seed"),
    "seeds": ("随机种子", "seeds"),
    "population": ("人口", "population"),
    "days run": ("运行天数", "days run"),
    "true infections": ("真实感染数", "true infections"),
    "cases detected": ("发现病例数", "cases detected"),
    "days to zero community": ("社会面清零天数", "days to zero community infections"),
    "not reached": ("未实现", "not reached"),
    "samples / tubes / rounds": ("采样人次 / 管数 / 轮次", "samples / tubes / rounds"),
    "samples": ("采样人次", "samples"),
    "tubes": ("检测管数", "tubes"),
    "person-days isolated": ("隔离人日", "person-days in isolation"),
    "person-days under controls": ("管控人日", "person-days under area controls"),
    "infection to isolation": ("感染至隔离天数（均值，中位数）",
                               "days infection → isolation (mean, median)"),
    "sample to isolation": ("阳性采样至隔离天数（均值，中位数）",
                            "days positive sample → isolation (mean, median)"),
    "contacts found / true / both": ("发现密接 / 真实密接 / 两者", "contacts found / true / both"),
    "contact recall, precision": ("密接召回率，精确率", "contact recall, precision"),
    "reclassified": ("订正为确诊", "reclassified as confirmed"),
    "to hospital": ("转定点医院", "moved to the designated hospital"),
    "discharged": ("出院", "discharged"),
    "died": ("死亡", "died"),
    "in care at the end": ("期末在院", "in care at the end"),
    "days in care": ("出院者住院天数（均值，中位数）",
                     "days in care of the discharged (mean, median)"),
    "curves": ("疫情曲线：真实与发现", "Epidemic curves: truth and detection"),
    "day by day": ("逐日", "Day by day"),
    "day": ("天", "day"),
    "date": ("日期", "date"),
    "infected": ("感染", "infected"),
    "community": ("社会面", "community"),
    "community infections": ("社会面感染", "community infections"),
    "cases found": ("发现病例", "cases found"),
    "in isolation": ("隔离中", "in isolation"),
    "under area controls": ("管控中", "under area controls"),
    "risk areas": ("风险区", "risk areas"),
    "in care": ("在院", "in care"),
    "figure": ("指标", "figure"),
    "mean and interval": ("均值 ± 95% 置信区间（正态近似）",
                          "mean ± 95% confidence interval (normal approximation)"),
    "chart daily new cases": ("每日新发现病例", "Daily new cases"),
    "chart isolated": ("每日隔离人数", "People in isolation"),
    "chart tests": ("每日采样人次", "Tests per day (people sampled)"),
    "chart codes": ("健康码：{colour}", "Health codes: {colour}"),
    "chart note": ("粗线为各种子的均值，细线为单个种子。",
                   "Thick lines: mean over seeds; thin lines: one seed each."),
}  # fmt: skip


def colour(name: str, locale: str) -> str:
    """A health-code colour's name, as the health-code pages say it."""
    pair = COLOURS.get(name)
    if pair is None:
        return name
    return pair[0] if locale == "zh_CN" else pair[1]


def text(message: str, locale: str, **values: object) -> str:
    """The message in ``locale`` (an unknown message is shown as its id: a test checks that
    every message the reports use is here)."""
    pair = TEXTS.get(message)
    if pair is None:
        return message.format(**values) if values else message
    chosen = pair[0] if locale == "zh_CN" else pair[1]
    return chosen.format(**values) if values else chosen
