"""Tools are plain async functions; name, description and JSON schema are derived from them.

Arguments are validated against the derived pydantic model before the function runs, so a malformed or
invalid call never executes (it becomes an error result under the same call id). The protocol these tools
implement (`ToolContext`, `ToolReturn`, `ToolError`, ...) is the engine's, in `agent/tooling.py`.
"""

from __future__ import annotations

import difflib
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, get_type_hints

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from ..agent.tooling import (
    Access,
    EmitFn,
    Resolved,
    SessionServices,
    ToolArgumentsError,
    ToolContext,
    ToolError,
    ToolReturn,
)

__all__ = ["Access", "EmitFn", "Resolved", "Resolver", "SessionServices", "Tool", "ToolArgumentsError",
           "ToolContext", "ToolError", "ToolRegistry", "ToolReturn", "tool"]

Resolver = Callable[[dict[str, Any], ToolContext], Awaitable[Resolved]]


_ARG_LINE = re.compile(r"^\s{2,}(\w+)\s*(?:\([^)]*\))?:\s*(.+)$")


def _parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """Summary and Google-style `Args:` descriptions from a docstring."""
    doc = inspect.cleandoc(doc or "")
    summary, _, rest = doc.partition("\nArgs:")
    descriptions: dict[str, str] = {}
    current = None
    for line in rest.splitlines():
        if line.strip() and not line.startswith(" "):
            break  # next section (Returns:, ...)
        match = _ARG_LINE.match(line)
        if match:
            current = match.group(1)
            descriptions[current] = match.group(2).strip()
        elif current and line.strip():
            descriptions[current] += " " + line.strip()
    return summary.strip(), descriptions


# Schema keywords whose value maps *names* to subschemas: a key there is a parameter or definition name (a
# parameter may well be called "title"), never pydantic's "title" annotation.
_NAMED_SUBSCHEMAS = frozenset({"properties", "patternProperties", "$defs", "definitions"})


def _strip_titles(schema: Any) -> Any:
    """Drop pydantic's generated "title" annotations (noise in every prompt), keeping parameters named title."""
    if isinstance(schema, list):
        return [_strip_titles(v) for v in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _NAMED_SUBSCHEMAS and isinstance(value, dict):
            out[key] = {name: _strip_titles(sub) for name, sub in value.items()}
        else:
            out[key] = _strip_titles(value)
    return out


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    function: Callable[..., Awaitable[Any]]
    args_model: type[BaseModel]
    context_param: str | None = None
    # What the tool does (see agent/tooling.py): read and session tools need no approval; the policy decides
    # the rest, and its rules for the built-in tools that spend money or write to the Hub always win.
    access: Access = "external"
    # Settles the arguments before the card (see `Resolved`); None: they run as validated.
    resolver: Resolver | None = None
    # Other vocabularies' argument names (ml-intern's, Claude Code's) accepted and renamed before validation, so
    # calls shaped for those agents run here; the schema shows only the canonical names.
    aliases: Mapping[str, str] = field(default_factory=dict)
    # Facts checked before the call runs (pre-launch checks): shown on the approval card and in the result.
    preflight: Callable[[dict[str, Any], ToolContext], Awaitable[list[str]]] | None = None

    @property
    def read_only(self) -> bool:
        return self.access == "read"

    @classmethod
    def from_function(
        cls,
        fn: Callable[..., Awaitable[Any]],
        *,
        name: str | None = None,
        description: str | None = None,
        read_only: bool = False,
        access: Access | None = None,
        resolver: Resolver | None = None,
        aliases: Mapping[str, str] | None = None,
        preflight: Callable[[dict[str, Any], ToolContext], Awaitable[list[str]]] | None = None,
    ) -> Tool:
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(f"tool {fn.__name__} must be an async function")
        summary, arg_docs = _parse_docstring(fn.__doc__ or "")
        hints = get_type_hints(fn)
        fields: dict[str, Any] = {}
        context_param = None
        for param in inspect.signature(fn).parameters.values():
            annotation = hints.get(param.name, Any)
            if annotation is ToolContext or ToolContext in getattr(annotation, "__args__", ()):
                context_param = param.name
                continue
            default = ... if param.default is inspect.Parameter.empty else param.default
            from pydantic import Field

            fields[param.name] = (annotation, Field(default, description=arg_docs.get(param.name)))
        model = create_model(  # type: ignore[call-overload]
            f"{fn.__name__}_args", __config__=ConfigDict(extra="forbid"), **fields
        )
        schema = _strip_titles(model.model_json_schema())
        schema.setdefault("properties", {})
        return cls(
            name=name or fn.__name__,
            description=description or summary,
            parameters=schema,
            function=fn,
            args_model=model,
            context_param=context_param,
            access=access or ("read" if read_only else "external"),
            resolver=resolver,
            aliases=dict(aliases or {}),
            preflight=preflight,
        )

    def schema(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "parameters": self.parameters}

    def validate(self, arguments: Any) -> dict[str, Any]:
        """Validated keyword arguments, or ToolArgumentsError with a message the model can act on."""
        if not isinstance(arguments, dict):
            raise ToolArgumentsError(f"arguments must be a JSON object, got {type(arguments).__name__}")
        arguments = self._renamed(arguments)
        try:
            parsed = self.args_model.model_validate(arguments)
        except ValidationError as exc:
            problems = "; ".join(self._problem(e) for e in exc.errors())
            raise ToolArgumentsError(f"invalid arguments for {self.name}: {problems}") from None
        return {name: getattr(parsed, name) for name in type(parsed).model_fields}

    async def resolve(self, arguments: dict[str, Any], ctx: ToolContext) -> Resolved:
        """The arguments as they will run, settled before the card (the loop validates them again)."""
        if self.resolver is None:
            return Resolved(arguments)
        return await self.resolver(dict(arguments), ctx)

    def _renamed(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """Aliases under their canonical names; an alias and its canonical name with two values is refused."""
        out = dict(arguments)
        for alias, canonical in self.aliases.items():
            if alias not in out:
                continue
            value = out.pop(alias)
            if canonical in out and out[canonical] != value:
                raise ToolArgumentsError(f"invalid arguments for {self.name}: `{alias}` and `{canonical}` name the "
                                         f"same argument with different values; give only `{canonical}`")
            out[canonical] = value
        return out

    def _problem(self, error: Any) -> str:
        """One validation problem, with the name to use when the model reached for a wrong or misspelled one."""
        where = ".".join(str(p) for p in error["loc"]) or "(root)"
        message = error["msg"]
        if error["type"] == "extra_forbidden" and len(error["loc"]) == 1:
            names = [n for n in self.parameters.get("properties", {}) if n != "ctx"]
            given = str(error["loc"][0])
            # A near spelling, else a name that contains it or that it contains ("flavor", "file_path").
            close = difflib.get_close_matches(given, names, n=1, cutoff=0.6) or \
                [n for n in names if len(n) > 2 and len(given) > 2 and (n in given or given in n)][:1]
            hint = f"; did you mean `{close[0]}`?" if close else ""
            return f"{where}: unknown argument{hint} (arguments: {', '.join(names)})"
        if error["type"] == "literal_error" and isinstance(error.get("input"), str):
            allowed = re.findall(r"'([^']*)'", message)
            close = difflib.get_close_matches(error["input"], allowed, n=1, cutoff=0.6)
            if close:
                message += f"; did you mean '{close[0]}'?"
        return f"{where}: {message}"

    async def run(self, arguments: dict[str, Any], ctx: ToolContext) -> ToolReturn:
        kwargs = dict(arguments)
        if self.context_param:
            kwargs[self.context_param] = ctx
        result = await self.function(**kwargs)
        if isinstance(result, ToolReturn):
            return result
        if isinstance(result, str):
            return ToolReturn(result)
        return ToolReturn(json.dumps(result, indent=1, default=str))


def tool(
    fn: Callable[..., Awaitable[Any]] | None = None, *, name: str | None = None, read_only: bool = False,
    access: Access | None = None, aliases: Mapping[str, str] | None = None,
) -> Any:
    """Decorator form of Tool.from_function."""
    if fn is None:
        return lambda f: Tool.from_function(f, name=name, read_only=read_only, access=access, aliases=aliases)
    return Tool.from_function(fn, name=name, read_only=read_only, access=access, aliases=aliases)


class ToolRegistry:
    """Named tools for one session; passed in, never global."""

    def __init__(self, tools: Iterable[Tool | Callable[..., Awaitable[Any]]] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for item in tools:
            self.register(item)

    def register(self, item: Tool | Callable[..., Awaitable[Any]]) -> Tool:
        tool_ = item if isinstance(item, Tool) else Tool.from_function(item)
        self._tools[tool_.name] = tool_
        return tool_

    def get(self, name: str) -> Tool | None:
        return self._tools.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        return [t.schema() for t in self._tools.values()]
