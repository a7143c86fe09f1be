"""Hot read endpoints serialize their model once.

FastAPI re-validates a returned model against ``response_model`` (dump to dict, validate, serialize):
for a page of 100 cameras that doubled the request's CPU (bench/bench_api_load.py). An endpoint
that built its model from our own validated types returns the JSON bytes directly; its
``response_model`` still documents the shape in OpenAPI.
"""

from __future__ import annotations

from typing import Any

from fastapi import Response
from pydantic import BaseModel, TypeAdapter


def json_response(model: BaseModel, status_code: int = 200, *, adapter: TypeAdapter[Any] | None = None) -> Response:
    body = adapter.dump_json(model) if adapter is not None else model.model_dump_json().encode()
    return Response(body, status_code=status_code, media_type="application/json")
