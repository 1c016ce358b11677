"""Phone numbers normalised so that lookups match however they were typed.

A mobile is kept as its 11 digits; a landline as area code + subscriber
number without the trunk 0 ambiguity (``0571-8765 4321`` → ``057187654321``);
a local landline typed without its area code gets the center's default area
code. Extensions (``转123``, ``-123``, ``ext 123``) are split off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _

_EXT = re.compile(r"(?:转|分机|ext\.?|x|#|,)\s*(\d{1,6})\s*$", re.IGNORECASE)


class PhoneError(ValueError):
    """Its message is in the active language (shown to the person typing)."""


@dataclass(frozen=True)
class Phone:
    number: str  # normalised key: mobile 1xxxxxxxxxx or landline 0AAAxxxxxxxx
    extension: str = ""
    kind: str = "mobile"  # mobile | landline | service

    def __str__(self) -> str:
        return f"{self.number}-{self.extension}" if self.extension else self.number


def _default_area_code() -> str:
    return settings.HOTLINE.get("DEFAULT_AREA_CODE", "0571")


def normalise(raw: str) -> Phone:
    if raw is None:
        raise PhoneError(_("enter a phone number"))
    text = str(raw).strip().translate(str.maketrans("０１２３４５６７８９－＋（）", "0123456789-+()"))
    if not text:
        raise PhoneError(_("enter a phone number"))
    extension = ""
    m = _EXT.search(text)
    if m:
        extension = m.group(1)
        text = text[: m.start()]
    compact = re.sub(r"[\s()]", "", text)
    if not re.fullmatch(r"\+?[\d.\-]+", compact):
        # Letters or other signs are a typing error, never silently dropped
        # (12345abc is not 12345).
        raise PhoneError(_("a phone number has only digits (and - + spaces or brackets): %(value)s")
                         % {"value": str(raw).strip()})
    digits_and_plus = re.sub(r"[^\d+]", "", compact)
    # A landline with a dash extension: 0571-87654321-123
    parts = compact.split("-")
    if not extension and len(parts) == 3 and parts[0].startswith("0") and 10 <= len(parts[0] + parts[1]) <= 12 \
            and 1 <= len(parts[2]) <= 6:
        extension = parts[2]
        digits_and_plus = parts[0] + parts[1]
    digits = digits_and_plus.lstrip("+")
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) >= 12:
        digits = digits[2:]
    if not digits.isdigit():
        raise PhoneError(_("not a valid phone number: %(value)s") % {"value": str(raw).strip()})
    if re.fullmatch(r"1[3-9]\d{9}", digits):
        return Phone(digits, extension, "mobile")
    if re.fullmatch(r"(95|96|400|800|1[0-2])\d{2,8}", digits) and len(digits) <= 10:
        return Phone(digits, extension, "service")
    if digits.startswith("1"):
        raise PhoneError(_("a mobile number has 11 digits: %(value)s") % {"value": str(raw).strip()})
    if not digits.startswith("0") and 7 <= len(digits) <= 8:
        digits = _default_area_code() + digits
    if not digits.startswith("0"):
        digits = "0" + digits
    try:
        parsed = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException as exc:
        raise PhoneError(_("not a valid phone number: %(value)s") % {"value": str(raw).strip()}) from exc
    if not phonenumbers.is_possible_number(parsed):
        raise PhoneError(_("not a valid phone number: %(value)s") % {"value": str(raw).strip()})
    national = "0" + str(parsed.national_number)
    if parsed.extension and not extension:
        extension = parsed.extension
    return Phone(national, extension, "landline")


def normalise_or_none(raw: str | None) -> Phone | None:
    if not raw:
        return None
    try:
        return normalise(raw)
    except PhoneError:
        return None


def mask(number: str) -> str:
    """138****5678 / 0571****4321 for roles that need not see the number."""
    if not number:
        return ""
    if len(number) <= 7:
        return number[:2] + "*" * (len(number) - 2)
    return number[:3] + "*" * 4 + number[-4:] if number.startswith("1") else number[:4] + "*" * 4 + number[-4:]
