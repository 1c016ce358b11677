"""Writes for the organisation: units, users, areas, customers, tokens."""

from __future__ import annotations

import copy
import hashlib
import secrets

from django.db import transaction

from hotline.core import cache, phones
from hotline.organisation.models import (
    ApiToken,
    AreaClass,
    AreaLevel,
    Customer,
    CustomerPhone,
    Role,
    ServiceArea,
    Unit,
    UnitKind,
    User,
)


@transaction.atomic
def create_unit(*, name: str, code: str, kind: str, parent: Unit | None = None, function: str = "", phone: str = "") -> Unit:
    if kind not in UnitKind.values:
        raise ValueError(f"unknown unit kind {kind!r}")
    unit = Unit.objects.create(name=name, code=code, kind=kind, parent=parent, function=function, phone=phone)
    _set_path(unit)
    return unit


def _set_path(unit: Unit) -> None:
    parent_path = unit.parent.path if unit.parent_id else "/"
    unit.path = f"{parent_path}{unit.id}/"
    unit.depth = parent_path.count("/") - 1
    Unit.objects.filter(pk=unit.pk).update(path=unit.path, depth=unit.depth)


@transaction.atomic
def move_unit(*, unit: Unit, new_parent: Unit | None) -> Unit:
    if new_parent is not None and new_parent.path.startswith(unit.path):
        raise ValueError("a unit cannot move under itself")
    from hotline.organisation.signals import unit_moved

    old = unit.path
    moved_ids = list(Unit.objects.filter(path__startswith=old).values_list("id", flat=True))
    unit.parent = new_parent
    unit.save(update_fields=["parent"])
    _set_path(unit)
    for child in Unit.objects.filter(path__startswith=old).exclude(pk=unit.pk).order_by("depth"):
        child.refresh_from_db()
        _set_path(child)
    # Rows elsewhere that copy these paths (work orders) follow in this
    # transaction; organisation does not know them.
    unit_moved.send(sender=Unit, unit=unit, old_path=old, new_path=unit.path, unit_ids=moved_ids)
    return unit


def create_user(*, username: str, password: str, role: str, unit: Unit | None, display_name: str = "",
                agent_number: str = "", stars: int | None = None, **extra) -> User:
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    user = User(username=username, role=role, unit=unit, display_name=display_name, agent_number=agent_number, stars=stars, **extra)
    if role == Role.ADMIN:
        user.is_staff = True
        user.is_superuser = True
    user.set_password(password)
    user.save()
    return user


@transaction.atomic
def create_service_area(*, name: str, code: str, level: str, unit: Unit, parent: ServiceArea | None = None,
                        area_class: str = AreaClass.URBAN) -> ServiceArea:
    if level not in AreaLevel.values:
        raise ValueError(f"unknown area level {level!r}")
    # "滨江社区" + "滨江社区2号台区" reads as "…滨江社区2号台区", as people write it.
    if parent is None:
        full_name = name
    elif name.startswith(parent.name):
        full_name = parent.full_name + name[len(parent.name):]
    else:
        full_name = parent.full_name + name
    return ServiceArea.objects.create(name=name, code=code, level=level, unit=unit, parent=parent,
                                      area_class=area_class, full_name=full_name)


@transaction.atomic
def create_customer(*, account_number: str, name: str, address: str, phone_numbers: list[str],
                    service_area: ServiceArea | None = None, special_mark: str = "") -> Customer:
    customer = Customer.objects.create(account_number=account_number, name=name, address=address,
                                       service_area=service_area, special_mark=special_mark)
    for raw in phone_numbers:
        add_customer_phone(customer=customer, raw=raw)
    return customer


def add_customer_phone(*, customer: Customer, raw: str) -> CustomerPhone:
    phone = phones.normalise(raw)
    obj, _ = CustomerPhone.objects.get_or_create(customer=customer, number=phone.number, extension=phone.extension,
                                                 defaults={"raw": raw})
    return obj


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_api_token(*, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token row and the plain key, which is shown once."""
    key = "hl_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=_hash(key), prefix=key[:8])
    return token, key


def user_for_token(key: str) -> User | None:
    """The active user holding an unrevoked token.

    Cached per process (an API client sends the same token on every call):
    a revocation or deactivation reaches every process within
    ``cache.CHECK_SECONDS`` (see ``hotline.core.cache``). Each caller gets
    its own copy of the user."""
    digest = _hash(key)

    def load() -> User | None:
        token = ApiToken.objects.select_related("user__unit").filter(key_hash=digest, revoked=False).first()
        return token.user if token is not None and token.user.is_active else None

    user = cache.get(("api-token", digest), load)
    # copy.copy gives the copy its own model state and relation cache
    # (Model.__getstate__); the cached unit itself is shared, read-only.
    return copy.copy(user) if user is not None else None
