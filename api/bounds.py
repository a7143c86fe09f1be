"""Integers the database can store: every integer the API takes fits a signed 32-bit column (ids and
counts are ``INTEGER`` columns, 32 bits on PostgreSQL; no input of ours needs more). A bigger one
used to reach the driver and fail there with a 500 (issue 12, finding 7: 2^63 on SQLite, 2^31 on
PostgreSQL). One place, without touching every route:

- :func:`bounded_int_params`, a dependency on the API router, runs before anything else in the
  request (authentication included) and refuses an out-of-range integer path or query parameter
  with a 422 naming it; only parameters the route declares as ``int`` are checked (a search text
  made of digits is not a number);
- request bodies: ``api.schemas.In`` refuses such integers field by field;
- :func:`bound_integers` writes the same bounds into the OpenAPI document, so clients (and the
  fuzzer) know them.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from camera_ops.errors import ValidationFailed
from camera_ops.registry.validation import control_char, control_char_message
from camera_ops.i18n import t

INT_MIN = -(2**31)  # PostgreSQL INTEGER
INT_MAX = 2**31 - 1


def in_db_range(value: int) -> bool:
    return INT_MIN <= value <= INT_MAX


def out_of_range_message(field: str, lang: str = "en") -> str:
    return t("api.int_range", "vi" if lang == "vi" else "en", field=field, low=INT_MIN, high=INT_MAX)


def _is_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        return _is_int(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_int(a) for a in typing.get_args(annotation) if a is not type(None))
    return False


def _int_params(dependant: Dependant) -> list[tuple[str, str]]:
    found = [("path", f.alias) for f in dependant.path_params if _is_int(f.field_info.annotation)]
    found += [("query", f.alias) for f in dependant.query_params if _is_int(f.field_info.annotation)]
    for sub in dependant.dependencies:
        found += _int_params(sub)
    return found


_CACHE_ATTR = "_camera_ops_int_params"


def _route_int_params(route: APIRoute) -> tuple[tuple[str, str], ...]:
    """Worked out once per route and kept on it."""
    params = getattr(route, _CACHE_ATTR, None)
    if params is None:
        params = tuple(dict.fromkeys(_int_params(route.dependant)))
        setattr(route, _CACHE_ATTR, params)
    return params


async def bounded_int_params(request: Request) -> None:
    """Path and query parameters the database could not take: control characters in any of them
    (PostgreSQL refuses a NUL even in a search), integers out of range in those declared ``int``.
    ``async``: pure checks, no trip through the thread pool (every API request runs it)."""
    for name, raw in [*request.path_params.items(), *request.query_params.multi_items()]:
        if isinstance(raw, str) and (char := control_char(raw)) is not None:
            raise ValidationFailed(control_char_message(name, char), field=name, key="api.control_chars",
                                   params={"code": f"U+{ord(char):04X}"})
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    for where, name in _route_int_params(route):
        values = [request.path_params.get(name)] if where == "path" else request.query_params.getlist(name)
        for raw in values:
            try:
                number = int(str(raw))
            except ValueError:
                continue  # not a number at all: FastAPI's own validation answers 422
            if not in_db_range(number):
                raise ValidationFailed(out_of_range_message(name), field=name,
                                       details={"message_vi": out_of_range_message(name, "vi")},
                                       key="err.field.out_of_range")


def bound_integers(node: Any) -> None:
    """Give every integer schema of an OpenAPI document the 64-bit bounds it lacks (in place)."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            node.setdefault("minimum", INT_MIN)
            node.setdefault("maximum", INT_MAX)
        for value in node.values():
            bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            bound_integers(value)
