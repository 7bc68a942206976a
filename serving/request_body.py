"""JSON request bodies, validated from their bytes by pydantic's parser: the one way every route reads a body.

FastAPI's own body parameters decode with `json.loads` first, and turn whatever that raises besides a syntax
error into one bare 400: a body nested too deeply (RecursionError) and a 5,000-digit number (ValueError) could
only be answered with a guess. Pydantic's parser says which, and on a big body it costs a third as much. A route
takes the raw body (`deps.JsonBody`), calls `parse_body` with its model and documents the model with
`openapi_body`; `openapi_components` adds the model to the OpenAPI schemas.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)

# what pydantic's JSON parser reports when a body is within the syntax but beyond its limits, in plain words
BEYOND_LIMITS = {"recursion limit exceeded": "JSON nested too deeply",
                 "number out of range": "JSON holds a number too large to read"}


def parse_body(model: type[Model], raw: bytes) -> Model:
    """The body as `model`, or RequestValidationError naming each problem's place (`body.rows.3.recency`)."""
    if not raw:
        raise RequestValidationError([{"type": "missing", "loc": ("body",), "msg": "Field required"}])
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise RequestValidationError([body_error(e, raw) for e in error.errors(include_input=False)]) from None


def body_error(error: Any, raw: bytes) -> dict[str, Any]:
    """A validation error of the body located under `body`, with what is wrong when the JSON cannot be read."""
    if error["type"] != "json_invalid":
        return {"type": error["type"], "loc": ("body", *error["loc"]), "msg": error["msg"]}
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"type": "json_invalid", "loc": ("body",), "msg": "not UTF-8 encoded JSON"}
    detail = (error.get("ctx") or {}).get("error", "invalid JSON")
    what = next((words for cause, words in BEYOND_LIMITS.items() if detail.startswith(cause)), "not valid JSON")
    return {"type": "json_invalid", "loc": ("body",), "msg": f"{what} ({detail})"}


def openapi_body(schema_name: str) -> dict[str, Any]:
    """The `openapi_extra` of a route whose JSON body is the component `schema_name`."""
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": f"#/components/schemas/{schema_name}"}}}}}


def openapi_components(*models: type[BaseModel]) -> dict[str, Any]:
    """The models' JSON schemas and the schemas they refer to, keyed by name, for the OpenAPI components."""
    components: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update({model.__name__: schema, **schema.pop("$defs", {})})
    return components
