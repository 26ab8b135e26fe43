"""The published JSON Schema of the plan, generated from the plan's types and checked against them.

Regenerate `rtk_lsp/schema/plan-context.schema.json` with `RTK_UPDATE_GOLDEN=1 pytest tests/unit/test_schema.py`.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from gitrepo import GitRepo
from jsonschema import Draft202012Validator

from rtk_lsp.plan import result
from rtk_lsp.plan.request import PlanRequest
from rtk_lsp.plan.result import Plan, to_json
from rtk_lsp.planning import plan_root

REPO = Path(__file__).resolve().parents[2]
SCHEMA = REPO / "rtk_lsp" / "schema" / "plan-context.schema.json"
PROTOCOL_TS = REPO / "vscode-client" / "src" / "protocol.ts"


# ---- generation --------------------------------------------------------------------------------


def _describe(cls: type) -> str:
    return inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].replace("\n", " ")


def _field_comments(cls: type) -> dict[str, str]:
    """The comment after each field of a class, as the description of that property."""
    found = re.findall(r"^    (\w+): [^#\n]*#\s*(.+)$", inspect.getsource(cls), re.M)
    return {name: text.strip() for name, text in found}


def _schema(tp: Any, defs: dict[str, Any]) -> dict[str, Any]:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if tp.__name__ not in defs:
            defs[tp.__name__] = {}  # reserve the name: a type may refer to itself
            hints = typing.get_type_hints(tp)
            properties, required = {}, []
            comments = _field_comments(tp)
            for f in dataclasses.fields(tp):
                field_type = hints[f.name]
                if f.metadata.get("omit_if_none"):
                    # left out when None, never null
                    (field_type,) = [a for a in typing.get_args(field_type) if a is not type(None)]
                else:
                    required.append(f.name)
                properties[f.name] = _schema(field_type, defs)
                if f.name in comments:
                    properties[f.name] = {"description": comments[f.name], **properties[f.name]}
            defs[tp.__name__] = {
                "type": "object",
                "description": _describe(tp),
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            }
        return {"$ref": f"#/$defs/{tp.__name__}"}
    if origin is typing.Literal:
        return {"type": "string", "enum": list(args)}
    if origin in (types.UnionType, typing.Union):
        options = [_schema(a, defs) for a in args]
        simple = [o.get("type") for o in options]
        if all(isinstance(t, str) and len(o) == 1 for t, o in zip(simple, options, strict=True)):
            return {"type": simple}
        return {"anyOf": options}
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        return {"type": "array", "items": _schema(args[0], defs)}
    if origin is Mapping or origin is dict:
        return {"type": "object", "additionalProperties": _schema(args[1], defs)}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
    if tp in simple:
        return {"type": simple[tp]}
    raise TypeError(f"no JSON Schema for {tp!r}")


def generated_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    _schema(Plan, defs)
    # The plan object is the root itself: MCP wants a tool's output schema to be an object schema.
    plan = defs.pop("Plan")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "rtk-lsp plan",
        **plan,
        "description": "What POST /v1/plan-context, rtk/planContext, the MCP tool plan_context and "
        "`rtk-lsp plan --format json` return. Generated from rtk_lsp/plan/result.py.",
        "$defs": defs,
    }


def test_the_published_schema_is_generated_from_the_types() -> None:
    text = json.dumps(generated_schema(), indent=2) + "\n"
    if os.environ.get("RTK_UPDATE_GOLDEN"):
        SCHEMA.write_text(text)
    assert SCHEMA.read_text() == text, "regenerate with RTK_UPDATE_GOLDEN=1"
    Draft202012Validator.check_schema(json.loads(text))


def test_every_type_of_the_plan_is_in_the_schema() -> None:
    defs = generated_schema()["$defs"]
    public = {n for n in result.__all__ if dataclasses.is_dataclass(getattr(result, n))}
    assert public == {*defs, "Plan"}


# ---- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize("detail", ["paths", "symbols", "content"])
def test_plans_validate(shop: GitRepo, plan_validator: Draft202012Validator, detail: str) -> None:
    plan = plan_root(str(shop.root), PlanRequest("fix the discount rounding in apply_discount", 3000, detail))  # type: ignore[arg-type]
    data = to_json(plan)
    plan_validator.validate(data)
    assert ("content" in data["selected"][0]) == (detail == "content")


def test_the_schema_rejects_what_is_not_a_plan(shop: GitRepo, plan_validator: Draft202012Validator) -> None:
    data = to_json(plan_root(str(shop.root), PlanRequest("apply_discount")))
    assert plan_validator.is_valid(data)
    for broken in (
        {**data, "detail": "everything"},
        {**data, "intent": {**data["intent"], "kind": "chore"}},
        {k: v for k, v in data.items() if k != "budget_report"},
        {**data, "unexpected": 1},
        {**data, "selected": [{**data["selected"][0], "score": "high"}]},
    ):
        assert not plan_validator.is_valid(broken)


# ---- the VS Code client's description of the same objects ------------------------------------

# protocol.ts interface -> the schema's definition of the same object
TS_INTERFACES = {
    "Plan": "Plan",
    "Intent": "Intent",
    "SelectedFile": "SelectedFile",
    "PlanSymbol": "PlanSymbol",
    "DroppedFile": "DroppedFile",
    "RankedFile": "RankedFile",
    "BudgetReport": "BudgetReport",
}


def ts_interfaces(source: str) -> dict[str, dict[str, tuple[str, bool]]]:
    """interface name -> field -> (TypeScript type, optional) for the flat interfaces of a file."""
    out: dict[str, dict[str, tuple[str, bool]]] = {}
    for m in re.finditer(r"export interface (\w+) \{(.*?)\n\}", source, re.S):
        fields = {}
        for line in m.group(2).splitlines():
            fm = re.match(r"\s+(\w+)(\??): (.+);$", line)
            if fm:
                fields[fm.group(1)] = (fm.group(3), fm.group(2) == "?")
        out[m.group(1)] = fields
    return out


TS_SIMPLE = {"string": {"string"}, "number": {"number", "integer"}, "boolean": {"boolean"}}


def ts_type_fits(ts: str, schema: dict[str, Any], aliases: dict[str, str]) -> bool:
    """Whether a value the schema allows is a value of the TypeScript type."""
    ts = aliases.get(ts, ts)
    if ts.endswith("[]"):
        return schema.get("type") == "array" and ts_type_fits(ts[:-2], schema["items"], aliases)
    if ts == "Record<string, unknown>":  # any object
        return schema.get("type") == "object" or "$ref" in schema
    if ts.startswith("Record<string, "):
        value = ts[len("Record<string, ") : -1]
        extra = schema.get("additionalProperties")
        return (
            schema.get("type") == "object" and isinstance(extra, dict) and ts_type_fits(value, extra, aliases)
        )
    if ts in TS_INTERFACES:
        return schema.get("$ref") == f"#/$defs/{TS_INTERFACES[ts]}"
    if all(p.strip().startswith("'") for p in ts.split("|")):
        return set(schema.get("enum", ())) <= {p.strip().strip("'") for p in ts.split("|")}
    return schema.get("type") in TS_SIMPLE.get(ts, set())


def test_the_vscode_client_reads_what_the_schema_describes() -> None:
    source = PROTOCOL_TS.read_text()
    aliases = dict(re.findall(r"export type (\w+) = ([^;]+);", source))
    interfaces = ts_interfaces(source)
    schema = generated_schema()
    defs = {**schema["$defs"], "Plan": schema}
    for ts_name, def_name in TS_INTERFACES.items():
        schema = defs[def_name]
        for field, (ts_type, optional) in interfaces[ts_name].items():
            assert field in schema["properties"], f"{ts_name}.{field} is not in the schema's {def_name}"
            assert optional == (field not in schema["required"]), f"{ts_name}.{field}: optional?"
            assert ts_type_fits(ts_type, schema["properties"][field], aliases), (
                f"{ts_name}.{field}: {ts_type} vs {schema['properties'][field]}"
            )
