"""Name pools for synthetic people, places and organisations (assumed, not from a source: common
Chinese surnames roughly in their order of frequency in Hunan, and everyday given-name
characters). Generated names are fiction; any match with a real person is chance."""

from __future__ import annotations

from itertools import product

# (surname, relative weight)
SURNAMES: tuple[tuple[str, int], ...] = (
    ("刘", 80), ("李", 75), ("陈", 70), ("王", 60), ("张", 55), ("周", 40), ("罗", 38),
    ("彭", 34), ("谭", 32), ("唐", 32), ("黄", 30), ("曾", 28), ("邓", 28), ("谢", 26),
    ("胡", 26), ("杨", 26), ("贺", 20), ("肖", 20), ("易", 18), ("吴", 18), ("赵", 16),
    ("文", 14), ("龙", 14), ("蒋", 14), ("朱", 14), ("何", 14), ("廖", 12), ("袁", 12),
    ("丁", 10), ("钟", 10), ("许", 10), ("邹", 10), ("颜", 8), ("蔡", 8), ("欧阳", 6),
    ("段", 6), ("向", 6), ("聂", 6), ("卢", 6), ("左", 4),
)  # fmt: skip

MALE_CHARACTERS = "伟强磊军勇杰涛斌超明刚辉波鹏华飞健俊峰浩宇博文斌志国建平亮晨阳毅凯林"
FEMALE_CHARACTERS = "芳娜敏静丽艳娟霞玲婷雪慧琳颖倩洁梅兰红燕萍莉佳欣怡雅琪思涵悦瑶蓉晶"


def given_names(characters: str) -> tuple[str, ...]:
    """Every one- and two-character given name from ``characters`` (one-character first)."""
    pairs = ("".join(pair) for pair in product(characters, repeat=2))
    return tuple(characters) + tuple(pairs)


MALE_GIVEN = given_names(MALE_CHARACTERS)
FEMALE_GIVEN = given_names(FEMALE_CHARACTERS)

# Place-name characters for communities, villages and compounds.
PLACE_CHARACTERS = "桂花枫林湘江建宁新华龙泉荷塘金山明照白石清水红旗东风松西园长岭东湖月塘晓霞"
COMPOUND_SUFFIXES = ("小区", "花园", "家园", "新村", "公寓", "苑")
BRAND_CHARACTERS = "华鑫盛达恒通宏远泰丰嘉利祥瑞昌隆兴源创联润德信安和"

INDUSTRY_LABELS = {
    "manufacturing": "制造有限公司",
    "retail_wholesale": "商贸有限公司",
    "construction": "建设工程有限公司",
    "transport_logistics": "物流有限公司",
    "hospitality": "餐饮管理有限公司",
    "public_administration": "服务中心",
    "health": "医院",
    "education_services": "教育咨询有限公司",
    "other_services": "服务有限公司",
}
