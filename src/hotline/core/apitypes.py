"""What every router of the JSON API shares: bounded input types, the error
bodies, and validation messages in the user's language.

Input is bounded where it is parsed, so a value the database cannot hold (a
bigint beyond 2**63 - 1, a date before year 1 after the zone conversion)
answers 422 naming the field instead of failing in the driver.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict
from pydantic_core import PydanticCustomError

MAX_ID = 2**63 - 1  # a bigint primary key
MAX_OFFSET = 1_000_000  # deeper pages are a search's job, not a pager's
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(9999, 12, 30)  # a day short of the end: zone conversion and "the next day" stay in range

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]


def _date_range_error() -> PydanticCustomError:
    return PydanticCustomError("date_range", _("Give a date between %(min)s and %(max)s.")
                               % {"min": MIN_DATE.isoformat(), "max": MAX_DATE.isoformat()})


def _check_datetime(value: dt.datetime) -> dt.datetime:
    if not MIN_DATE <= value.date() <= MAX_DATE:
        raise _date_range_error()
    try:
        aware = value if timezone.is_aware(value) else timezone.make_aware(value)
        aware.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise _date_range_error() from None
    return value


def _check_date(value: dt.date) -> dt.date:
    if not MIN_DATE <= value <= MAX_DATE:
        raise _date_range_error()
    return value


DateTime = Annotated[dt.datetime, AfterValidator(_check_datetime)]
Date = Annotated[dt.date, AfterValidator(_check_date)]


def described(text) -> ConfigDict:
    """A schema's description for the OpenAPI, in the user's language (pass
    a lazy text): pydantic would show a docstring, which stays English."""
    return ConfigDict(json_schema_extra={"description": text})


class ApiError(Schema):
    model_config = described(gettext_lazy("The body of every error answer but 422."))

    detail: str = Field(..., description=gettext_lazy("what went wrong, in the user's language"))


class ApiProblem(Schema):
    loc: list[str | int] = Field(..., description=gettext_lazy(
        "where: the field's name (a file's row and column for an import)"))
    msg: str = Field(..., description=gettext_lazy("the problem, in the user's language"))
    type: str = Field(..., description=gettext_lazy("a stable code, e.g. missing, less_than_equal, value_error"))


class ApiValidationError(Schema):
    model_config = described(gettext_lazy("The body of a 422: one item per problem."))

    detail: list[ApiProblem]


def _messages() -> dict[str, str]:
    # Pydantic's own messages are English only; these are ours, by error type,
    # with pydantic's context (limits, expected values) filled in.
    number = _("Give a whole number.")
    datetime = _("Give a date and time such as 2026-06-01T14:30:00+08:00.")
    date = _("Give a date such as 2026-06-01.")
    obj = _("Give an object.")
    return {
        "missing": _("This field is required."),
        "int_parsing": number, "int_type": number, "int_from_float": number, "int_parsing_size": number,
        "float_parsing": _("Give a number."), "float_type": _("Give a number."),
        "bool_parsing": _("Give true or false."), "bool_type": _("Give true or false."),
        "string_type": _("Give a text."),
        "greater_than_equal": _("Give at least %(ge)s."), "greater_than": _("Give more than %(gt)s."),
        "less_than_equal": _("Give at most %(le)s."), "less_than": _("Give less than %(lt)s."),
        "string_too_short": _("Give at least %(min_length)s characters."),
        "string_too_long": _("Give at most %(max_length)s characters."),
        "too_short": _("Give at least %(min_length)s items."), "too_long": _("Give at most %(max_length)s items."),
        "datetime_parsing": datetime, "datetime_type": datetime, "datetime_from_date_parsing": datetime,
        "datetime_object_invalid": datetime,
        "date_parsing": date, "date_type": date, "date_from_datetime_parsing": date,
        "date_from_datetime_inexact": date,
        "enum": _("Give one of: %(expected)s."), "literal_error": _("Give one of: %(expected)s."),
        "list_type": _("Give a list."), "dict_type": obj, "model_type": obj, "model_attributes_type": obj,
        "json_invalid": _("The body is not valid JSON."), "json_type": _("The body is not valid JSON."),
        "extra_forbidden": _("This field is not known."),
        "string_pattern_mismatch": _("The text does not have the required form."),
    }


def problem_message(error: dict[str, Any]) -> str:
    """One pydantic (or ninja) error item's message in the active language."""
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    template = _messages().get(kind)
    if template is not None:
        try:
            return template % {k: _plain(v) for k, v in ctx.items()} if "%(" in template else template
        except (KeyError, TypeError, ValueError):
            pass
    msg = str(error.get("msg", ""))
    # Our own validators raise ValueError with a translated message; pydantic prefixes it.
    return msg.removeprefix("Value error, ") or _("This value is not valid.")


def _plain(value: Any) -> str:
    text = str(value)
    # Pydantic's expected values come as English: "'a', 'b' or 'c'".
    quoted = re.findall(r"'([^']*)'", text)
    return ", ".join(quoted) if quoted else text
