"""Pydantic validation errors as the one line a user reads: where, which field, what is wrong, the fix.

A schema's own checks raise :func:`invalid`, which carries the field it is about, so a rule that compares
two fields still names the one to edit.
"""
from __future__ import annotations

import dataclasses
import difflib
import typing
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticCustomError

#: A field the file never sets (filled in by the loader, e.g. where the file was read from).
NOT_IN_FILE = "not_in_file"

_INVALID = "fxbench_invalid"

# pydantic error type -> (problem, fix); {input} is the offending value, the rest comes from the error's ctx
_STANDARD: dict[str, tuple[str, str]] = {
    "int_type": ("expected an integer, got {input}", "write a whole number"),
    "int_parsing": ("expected an integer, got {input}", "write a whole number"),
    "int_from_float": ("expected an integer, got {input}", "write a whole number"),
    "float_type": ("expected a number, got {input}", "write a number"),
    "float_parsing": ("expected a number, got {input}", "write a number"),
    "finite_number": ("expected a finite number, got {input}", "replace it with a finite number"),
    "bool_type": ("expected true or false, got {input}", "write true or false"),
    "bool_parsing": ("expected true or false, got {input}", "write true or false"),
    "string_type": ("expected text, got {input}", "quote the value"),
    "tuple_type": ("expected a list, got {input}", "write a list such as [a, b]"),
    "list_type": ("expected a list, got {input}", "write a list such as [a, b]"),
    "dict_type": ("expected a mapping, got {input}", "write key: value pairs"),
    "dataclass_type": ("expected a mapping, got {input}", "write key: value pairs"),
    "dataclass_exact_type": ("expected a mapping, got {input}", "write key: value pairs"),
    "model_type": ("expected a mapping, got {input}", "write key: value pairs"),
    "greater_than": ("must be greater than {gt}, got {input}", "use a larger value"),
    "greater_than_equal": ("must be at least {ge}, got {input}", "use a larger value"),
    "less_than": ("must be less than {lt}, got {input}", "use a smaller value"),
    "less_than_equal": ("must be at most {le}, got {input}", "use a smaller value"),
    "too_short": ("{actual_length} given, needs at least {min_length}", "add values"),
    "too_long": ("{actual_length} given, allows at most {max_length}", "use fewer values"),
    "string_too_short": ("must not be empty", "write a value"),
    "literal_error": ("expected {expected}, got {input}", "use one of those"),
}


def invalid(field: str, problem: str, fix: str) -> PydanticCustomError:
    """A failed check of a schema's own; ``field`` is relative to the object checked ("" for itself)."""
    return PydanticCustomError(_INVALID, "{problem}; {fix}", {"field": field, "problem": problem, "fix": fix})


def one_line(exc: ValidationError, root: type, where: str) -> str:
    """The first error as ``where: path: problem; fix``, plus how many more there are."""
    errors = exc.errors(include_url=False)
    # a list whose item failed also reports itself too short (of valid items): the item's error explains it
    errors = [e for e in errors if not any(_inside(o["loc"], e["loc"]) for o in errors)] or errors
    text = _describe(errors[0], root)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {text}{more}"


def _inside(loc: tuple, outer: tuple) -> bool:
    return len(loc) > len(outer) and tuple(loc[:len(outer)]) == tuple(outer)


def _describe(err: dict, root: type) -> str:
    loc, kind, ctx = tuple(err["loc"]), err["type"], err.get("ctx") or {}
    if kind == _INVALID:
        return _at(_path(loc, ctx["field"]), f"{ctx['problem']}; {ctx['fix']}")
    if kind in ("extra_forbidden", "unexpected_keyword_argument"):
        key, allowed = str(loc[-1]), _fields_at(root, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        fix = f"rename it to {close[0]!r}" if close else "remove it"
        return _at(_path(loc[:-1]), f"unknown key {key!r}; {fix} (allowed: {', '.join(allowed)})")
    if kind == "missing":
        return _at(_path(loc[:-1]), f"missing required field {str(loc[-1])!r}; add it")
    if kind not in _STANDARD:
        return _at(_path(loc), f"{err['msg'].lower()}, got {_show(err.get('input'))}; see the shipped files for examples")
    problem, fix = _STANDARD[kind]
    return _at(_path(loc), f"{problem.format(input=_show(err.get('input')), **ctx)}; {fix}")


def _at(path: str, text: str) -> str:
    return f"{path}: {text}" if path else text


def _path(loc: tuple, field: str = "") -> str:
    """('parameters', 0, 'grid') -> parameters[0].grid"""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    if field:
        out += field if field.startswith("[") or not out else f".{field}"
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fields_at(root: Any, loc: tuple) -> list[str]:
    """The keys a file may write at ``loc`` (for "unknown key" hints), following the dataclass types."""
    cls = root
    for part in loc:
        if isinstance(part, int):
            continue
        hints = typing.get_type_hints(cls) if dataclasses.is_dataclass(cls) else {}
        cls = _dataclass_in(hints.get(part))
        if cls is None:
            return []
    if not dataclasses.is_dataclass(cls):
        return []
    return [f.name for f in dataclasses.fields(cls) if not f.metadata.get(NOT_IN_FILE)]


def _dataclass_in(hint: Any) -> Any:
    if hint is None or dataclasses.is_dataclass(hint):
        return hint
    for arg in typing.get_args(hint):
        found = _dataclass_in(arg)
        if found is not None:
            return found
    return None
