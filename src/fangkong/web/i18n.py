"""Translations: gettext catalogues (``locale/<lang>/LC_MESSAGES/messages.po``).

Message ids are English; zh_CN is the default language. The ``.po`` files are compiled in
memory when the app starts, so no compiled ``.mo`` build output has to live in the repository.
"""

from __future__ import annotations

import gettext
import io
from functools import lru_cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).parent / "locale"
SUPPORTED_LOCALES = ("zh_CN", "en")
LANGUAGE_TAGS = {"zh_CN": "zh-CN", "en": "en"}


@lru_cache
def translations(locale: str) -> gettext.NullTranslations:
    po_file = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return gettext.NullTranslations()
    with po_file.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def pick_locale(*, query: str | None, cookie: str | None, accept: str | None, default: str) -> str:
    """An explicit ``?lang=`` wins, then the remembered cookie, then the default (zh_CN).

    The browser's Accept-Language is consulted only for English, since the platform's users are
    first of all Chinese officials whose browsers may well be set to English.
    """
    for candidate in (query, cookie):
        if candidate in SUPPORTED_LOCALES:
            return candidate
    if accept and accept.lower().startswith("en") and default == "en":
        return "en"
    return default
