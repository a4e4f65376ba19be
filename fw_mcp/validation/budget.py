"""jsonschema made safe for hostile schemas: every keyword metered, regexes in RE2, no quadratic step.

jsonschema itself has no bound: `pattern` runs Python's backtracking `re` (`^(a+)+$` freezes a core),
`$ref`/`allOf` chains expand exponentially, `uniqueItems` over objects compares every pair, and
`iter_errors` will happily build 300,000 errors. Here

* every keyword application is charged to a per-validation `Budget` (time, and a cancel flag), which
  stops the work with `BudgetExceeded` naming the keywords that used it up;
* `pattern`, `patternProperties`, `additionalProperties` and the `regex` format use RE2 (linear time,
  no backtracking); a pattern RE2 cannot run (lookaround, backreferences) is refused as invalid;
* `uniqueItems` hashes canonical forms: linear, not quadratic.

The one place jsonschema still runs Python regexes on instance data (`unevaluatedProperties` next to
`patternProperties`) is refused by `schemas.py` before a validator is built.

A budget can be an inline slice: work started in the event loop's process that outruns the slice
raises `Escalate`, and is redone in a worker process under the whole budget (`fw_mcp.tools.schemas`).
"""

from __future__ import annotations

import functools
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Budget", "BudgetExceeded", "Escalate", "budget", "metered_class", "regex_format_checker"]

_CHECK_EVERY = 64  # keyword applications between clock reads
_REGEX_MEMORY = 1 << 20  # bytes one compiled regex may use (RE2 refuses larger programs)


class BudgetExceeded(Exception):
    """Validation used up its time (or was cancelled); says which keywords did the work."""

    def __init__(self, counts: Counter[str], seconds: float, cancelled: bool) -> None:
        self.counts = counts
        self.seconds = seconds
        self.cancelled = cancelled
        super().__init__(self.describe())

    def describe(self) -> str:
        top = ", ".join(f"`{k}` ({n:,} times)" for k, n in self.counts.most_common(3))
        where = f" after {sum(self.counts.values()):,} keyword steps, most of them in {top}" if top else ""
        return (
            f"checking it took more than the validation budget of {self.seconds:g} s ([limits] "
            f"validation_seconds){where}: simplify those parts of the schema (deeply chained "
            "$ref/allOf/anyOf, huge enums or uniqueItems over big arrays)."
        )


class Escalate(Exception):
    """An inline slice ran out: the work is too costly to finish in the event loop's process."""


class Budget:
    """The work one validation may do: CPU seconds of its thread and a cancel flag, checked every few
    keyword steps. CPU time, not wall time: a check is refused for the work it needs, never because
    the machine is busy or its worker process runs at a low priority (the call's deadline bounds
    the wall time).

    With `inline`, `seconds` is a slice: running out of it raises `Escalate`, not `BudgetExceeded`.
    """

    def __init__(self, seconds: float, cancelled: threading.Event, *, inline: bool = False) -> None:
        self.seconds = seconds
        self.deadline = time.thread_time() + seconds
        self.cancelled = cancelled
        self.inline = inline
        self.counts: Counter[str] = Counter()
        self.steps = 0

    def charge(self, keyword: str) -> None:
        self.counts[keyword] += 1
        self.steps += 1
        if self.steps % _CHECK_EVERY == 0 and (self.cancelled.is_set() or time.thread_time() > self.deadline):
            if self.inline and not self.cancelled.is_set():
                raise Escalate
            raise BudgetExceeded(self.counts, self.seconds, self.cancelled.is_set())


_active = threading.local()


class budget:
    """`with budget(b): ...` makes `b` the budget of metered validators in this thread."""

    def __init__(self, b: Budget) -> None:
        self._budget = b

    def __enter__(self) -> Budget:
        self._saved = getattr(_active, "budget", None)
        _active.budget = self._budget
        return self._budget

    def __exit__(self, *_: object) -> None:
        _active.budget = self._saved


def _charge(keyword: str) -> None:
    current: Budget | None = getattr(_active, "budget", None)
    if current is None:
        raise RuntimeError("a metered validator ran outside `with budget(...)`")
    current.charge(keyword)


@functools.cache
def metered_class(cls: Any) -> Any:
    """`cls` (a jsonschema validator class) with every keyword charged and the unsafe ones replaced."""
    from jsonschema import validators

    def meter(keyword: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def apply(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
            _charge(keyword)
            return fn(validator, value, instance, schema)

        return apply

    own = {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
        "uniqueItems": _unique_items,
    }
    keywords = {k: meter(k, own.get(k, fn)) for k, fn in cls.VALIDATORS.items()}
    return validators.extend(cls, keywords)  # type: ignore[no-untyped-call]  # jsonschema leaves it untyped


@functools.lru_cache(maxsize=64)  # with _REGEX_MEMORY: at most ~64 MiB of compiled regexes
def compile_regex(pattern: str) -> Any:
    """An RE2 regex (linear-time matching, bounded memory). Raises `re2.error` for syntax RE2 does
    not have, or a pattern too large to compile within _REGEX_MEMORY."""
    import re2  # type: ignore[import-untyped]

    options = re2.Options()
    options.max_mem = _REGEX_MEMORY
    options.log_errors = False  # a refused pattern is our message, not a line on stderr
    return re2.compile(pattern, options)


def regex_format_checker() -> Any:
    """A FormatChecker whose only format is `regex`, checked by RE2 (used when checking schemas)."""
    import re2
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    checker.checks("regex", raises=re2.error)(
        lambda value: not isinstance(value, str) or bool(compile_regex(value))
    )
    return checker


def _short(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not compile_regex(pattern).search(instance):
        yield ValidationError(f"{_short(instance)} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: dict[str, Any], instance: Any, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        regex = compile_regex(pattern)
        for key, value in instance.items():
            if regex.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    regexes = [compile_regex(p) for p in schema.get("patternProperties", {})]
    extras = [k for k in instance if k not in known and not any(r.search(k) for r in regexes)]
    if validator.is_type(extra, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra, path=key)
    elif not extra and extras:
        names = ", ".join(_short(k) for k in sorted(extras)[:5]) + (", ..." if len(extras) > 5 else "")
        yield ValidationError(f"Additional properties are not allowed ({names} unexpected)")


def _unique_items(validator: Any, unique: Any, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if unique and validator.is_type(instance, "array"):
        seen: set[Any] = set()
        for item in instance:
            key = _canonical(item)
            if key in seen:
                yield ValidationError("the array has non-unique elements")
                return
            seen.add(key)


def _canonical(value: Any) -> Any:
    """A hashable form equal exactly when JSON Schema calls two values equal (1 == 1.0, true != 1)."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((k, _canonical(v)) for k, v in value.items()))
    return ("other", repr(value))
