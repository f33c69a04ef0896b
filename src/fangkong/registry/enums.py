from enum import IntFlag, StrEnum


class AreaLevel(StrEnum):
    """Levels of the area tree, from the province down to the grid cell (网格)."""

    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    COMMUNITY = "community"
    GRID = "grid"


LEVEL_DEPTH = {level: depth for depth, level in enumerate(AreaLevel)}


class DocumentType(StrEnum):
    RESIDENT_ID = "resident_id"  # 居民身份证, 18 digits
    PASSPORT = "passport"
    HK_MACAO_PERMIT = "hk_macao_permit"  # 港澳居民来往内地通行证
    TAIWAN_PERMIT = "taiwan_permit"  # 台湾居民来往大陆通行证
    FOREIGN_PERMANENT_RESIDENT = "foreign_permanent_resident"  # 外国人永久居留身份证
    OTHER = "other"


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


class PersonTag(IntFlag):
    """Circumstances that matter to the response, stored as bits of one integer column so that
    a count by tag is one indexed scan on a city of millions."""

    ELDERLY_ALONE = 1  # 独居老人
    PREGNANT = 2  # 孕产妇
    DIALYSIS = 4  # 透析患者
    CHRONIC_MEDICINE = 8  # 慢性病需长期用药
    DISABLED = 16  # 残疾人
    MEDICAL_STAFF = 32  # 医务人员
    KEY_WORKER = 64  # 重点行业从业人员 (ports, cold chain, transport, …)
    BEDRIDDEN = 128  # 卧床, cannot be moved to a facility


class PersonStatus(StrEnum):
    ACTIVE = "active"
    MERGED = "merged"  # a duplicate folded into another person; kept for history
    DECEASED = "deceased"
    MOVED_AWAY = "moved_away"


class WorkplaceKind(StrEnum):
    ENTERPRISE = "enterprise"
    INDUSTRIAL = "industrial"  # large industrial sites (e.g. rail-equipment makers)
    SCHOOL = "school"
    GOVERNMENT = "government"
    HOSPITAL = "hospital"
    SHOP = "shop"


class VenueKind(StrEnum):
    MARKET = "market"  # 农贸市场
    SUPERMARKET = "supermarket"
    RESTAURANT = "restaurant"
    HOSPITAL = "hospital"
    FEVER_CLINIC = "fever_clinic"  # 发热门诊
    TRANSIT_STATION = "transit_station"
    PHARMACY = "pharmacy"
    GYM = "gym"
    SCHOOL = "school"


class MergeStatus(StrEnum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
