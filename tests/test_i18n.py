"""Every string a page shows has a Chinese translation (zh_CN is the default language)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fangkong.accounts.enums import Role
from fangkong.core.errors import CoreErrorCode
from fangkong.registry.enums import AreaLevel
from fangkong.web import i18n
from fangkong.web.navigation import MENU

# A literal message id: _("...") or _('...'); concatenated keys like _("role:" ~ x) are
# covered by keyed_msgids instead.
TEMPLATE_STRING = re.compile(r"""_\(\s*(?:"([^"]+)"|'([^']+)')\s*\)""")


def template_msgids() -> set[str]:
    ids = set()
    for template in Path(i18n.__file__).parent.joinpath("templates").rglob("*.html"):
        ids.update(
            match.group(1) or match.group(2)
            for match in TEMPLATE_STRING.finditer(template.read_text())
        )
    return ids


def keyed_msgids() -> set[str]:
    return (
        {f"role:{role}" for role in Role}
        | {f"level:{level}" for level in AreaLevel}
        | {f"error:{code}" for code in CoreErrorCode}
        | {item.label for item in MENU}
    )


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_it_translates_every_key_like_message(locale: str) -> None:
    translations = i18n.translations(locale)
    missing = sorted(m for m in keyed_msgids() if translations.gettext(m) == m and ":" in m)
    assert missing == []


def test_it_translates_every_template_string_into_chinese() -> None:
    translations = i18n.translations("zh_CN")
    ids = template_msgids() | keyed_msgids()
    assert len(ids) > 40
    missing = sorted(m for m in ids if translations.gettext(m) == m and m != "fangkong")
    assert missing == []


@pytest.mark.parametrize(
    ("_case", "query", "cookie", "accept", "expected"),
    [
        ("explicit choice wins", "en", "zh_CN", None, "en"),
        ("cookie remembers", None, "en", None, "en"),
        ("unknown language ignored", "fr", None, None, "zh_CN"),
        ("default is Chinese", None, None, "en-US,en", "zh_CN"),
    ],
)
def test_it_picks_the_language(
    _case: str, query: str | None, cookie: str | None, accept: str | None, expected: str
) -> None:
    assert i18n.pick_locale(query=query, cookie=cookie, accept=accept, default="zh_CN") == expected
