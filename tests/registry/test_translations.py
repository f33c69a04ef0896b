from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from fangkong.registry.enums import DocumentType, PersonStatus, PersonTag
from fangkong.registry.errors import RegistryErrorCode
from fangkong.web import i18n
from fangkong.web.navigation import MENU

TEMPLATES = Path(i18n.__file__).parent / "templates" / "registry"


def catalog(locale: str) -> set[str]:
    path = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return {message.id for message in read_po(handle, locale=locale) if message.string}


def registry_message_ids() -> set[str]:
    found: set[str] = {item.label for item in MENU}
    for template in TEMPLATES.glob("*.html"):
        found |= set(re.findall(r"""_\(["']([^"']+)["']\)""", template.read_text()))
    return found


def key_like_ids() -> set[str]:
    return (
        {f"error:{code}" for code in RegistryErrorCode}
        | {f"tag:{tag.name}" for tag in PersonTag}
        | {f"document:{kind}" for kind in DocumentType}
        | {f"status:{status}" for status in PersonStatus}
        | {"sex:M", "sex:F"}
    )


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_it_translates_every_key_like_registry_message(locale: str) -> None:
    assert key_like_ids() - catalog(locale) == set()


def test_it_translates_every_registry_page_text_into_chinese() -> None:
    assert registry_message_ids() - catalog("zh_CN") == set()
