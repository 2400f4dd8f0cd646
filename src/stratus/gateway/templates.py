"""Mapping templates, as far as Stratus evaluates them: `$` references, no directives.

`$context.requestId`, `$context.stage`, `$context.httpMethod`, `$context.resourcePath`,
`$context.resourceId`, `$context.apiId`, `$stageVariables.name`, `$input.params('x')`,
`$input.body`, `$input.json('$')` and `$input.json('$.a.b')` / `$input.path('$.a.b')`
are substituted, bare or inside `$util.escapeJavaScript(...)`; `#set`/`#if`/`#foreach`
are refused when the template is stored (see `rest_integrations._check_template`), so
a template is never served half-evaluated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_REFERENCE = re.compile(
    r"\$(?P<util>util\.escapeJavaScript\()?"
    r"\$?(\{)?(?P<name>context\.[A-Za-z.]+|stageVariables\.[A-Za-z0-9_]+|input\.body"
    r"|input\.(?:json|path)\('(?P<path>\$[^']*)'\)|input\.params\('(?P<param>[^']*)'\))(?(2)\})"
    r"(?(util)\))"
)
_STEP = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]|\['([^']*)'\]")


def render(
    template: str,
    context: Mapping[str, str],
    stage_variables: Mapping[str, str],
    params: Mapping[str, str],
    body: str,
) -> str:
    """The template with its references replaced."""
    if "$" not in template:
        return template  # most mock and response templates are constant

    def value_of(found: re.Match[str]) -> str:
        name = found.group("name")
        if name.startswith("context."):
            return context.get(name[len("context.") :], "")
        if name.startswith("stageVariables."):
            return stage_variables.get(name[len("stageVariables.") :], "")
        if name == "input.body":
            return body
        if name.startswith(("input.json", "input.path")):
            return _select(body, found.group("path") or "$", name.startswith("input.json"))
        return params.get(found.group("param") or "", "")

    def substitute(found: re.Match[str]) -> str:
        value = value_of(found)
        return escape_javascript(value) if found.group("util") else value

    return _REFERENCE.sub(substitute, template)


def escape_javascript(text: str) -> str:
    """`$util.escapeJavaScript`: JavaScript string escapes, including `'` as `\\'`.

    AWS documents that the escaped single quote is not valid JSON; a template that
    embeds it in a JSON string breaks the same way on Stratus as on AWS.
    """
    out = []
    for ch in text:
        if ch in "\"'\\/":
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\b":
            out.append("\\b")
        elif ch == "\f":
            out.append("\\f")
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


def _select(body: str, path: str, as_json: bool) -> str:
    """`$input.json(path)` (JSON text) or `$input.path(path)` (the value as text)."""
    if path == "$" and as_json:
        return body if body.strip() else "{}"
    try:
        value: Any = json.loads(body) if body.strip() else {}
    except ValueError:
        return ""
    position = 1
    while position < len(path):
        step = _STEP.match(path, position)
        if step is None:
            return ""
        key: str | int = step.group(1) or step.group(3) or ""
        if step.group(2) is not None:
            key = int(step.group(2))
        listed = isinstance(key, int) and isinstance(value, list) and key < len(value)
        keyed = isinstance(key, str) and isinstance(value, dict) and key in value
        value = value[key] if listed or keyed else None
        position = step.end()
    if as_json:
        return json.dumps(value, separators=(",", ":"))
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def mock_status(rendered: str) -> int:
    """The status a MOCK integration's request template asks for (200 by default)."""
    try:
        document = json.loads(rendered) if rendered.strip() else {}
    except ValueError:
        return 500
    if isinstance(document, dict):
        status = document.get("statusCode", 200)
        if isinstance(status, int) and not isinstance(status, bool):
            return status
        if isinstance(status, str) and status.isdigit():
            return int(status)
    return 500
