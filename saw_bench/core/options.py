"""Checked options: the one way saw-bench checks what a user passes it.

The training options (:class:`~saw_bench.training.TrainConfig`), the sweep spec, the tiny
policy's recipe and the tasks' kwargs declare each option as a typed field, and pydantic
(v2, https://docs.pydantic.dev) checks them when the object is built: its constructor, and so
``dataclasses.replace``. The check is strict: ``"3"`` is not 3 and ``True`` is not 1, and an
integer given for a number stays an integer, so ``config.json`` keeps what was written. Bounds
and choices are part of the types below; a check that relates several options is code in
``__post_init__`` (or the constructor) that raises :class:`OptionError`.

:func:`checked` (for a dataclass) and :func:`checked_call` (for a function, e.g. a task's
``__init__``) turn pydantic's ValidationError into one :class:`OptionError` line that names the
option, what it must be and the value given::

    steps must be a positive integer, but got 0
    unknown estimator 'x'; choose one of grpo, gdpo
    unknown training option(s) ['lr']; valid training options: task, task_kwargs, ...

:func:`reading` adds where options were read (a file, a flag) to these messages.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import types
import typing
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import Annotated, Any, Literal, TypeVar

import pydantic
from pydantic import AfterValidator, ConfigDict, Field, ValidationError

from saw_bench.core.errors import SawBenchError

#: A finite number; an integer stays an integer (written back as 3, not 3.0).
Number = int | Annotated[float, Field(allow_inf_nan=False)]
PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
Positive = Annotated[Number, Field(gt=0)]
NonNegative = Annotated[Number, Field(ge=0)]
#: A number from 0 to 1.
Share = Annotated[Number, Field(ge=0, le=1)]

STRICT = ConfigDict(strict=True, extra="forbid")
#: pydantic's error types for a value of the right type outside its bounds.
BOUND_ERRORS = frozenset(
    ("greater_than", "greater_than_equal", "less_than", "less_than_equal", "too_short", "too_long")
)

Class = TypeVar("Class", bound=type)
Function = TypeVar("Function", bound=Callable[..., Any])


class OptionError(SawBenchError, ValueError):
    """A bad option: one line naming it, what it must be and the value given."""


class UnknownOptionError(OptionError):
    """Options that do not exist: ``names``, with the ``valid`` ones in the message."""

    def __init__(
        self,
        names: Iterable[str],
        valid: Iterable[str],
        noun: str = "option",
        where: str = "",
        listing: str = "",
    ) -> None:
        self.names, self.valid = sorted(names), tuple(valid)
        self.noun, self.where, self.listing = noun, where, listing
        super().__init__(self.names)

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        return (
            f"{prefix}unknown {self.noun}(s) {self.names}; valid {self.noun}s: "
            f"{', '.join(self.valid)}{self.listing}"
        )


class OneOf:
    """A validator for a name among ``choices()`` (read when checking, so a registry that grows
    is seen): ``unknown estimator 'x'; choose one of grpo, gdpo``."""

    def __init__(self, what: str, choices: Callable[[], Iterable[str]]) -> None:
        self.what, self.choices = what, choices

    def __call__(self, value: str) -> str:
        names = list(self.choices())
        if value not in names:
            raise OptionError(f"unknown {self.what} {value!r}; choose one of {', '.join(names)}")
        return value


def one_of(what: str, choices: Callable[[], Iterable[str]]) -> AfterValidator:
    """``Annotated[str, one_of("estimator", lambda: ESTIMATORS)]``: see :class:`OneOf`."""
    return AfterValidator(OneOf(what, choices))


def choices_of(hint: Any) -> tuple[str, ...] | None:
    """The choices of a field's type (a ``Literal`` or :func:`one_of`), else None."""
    for extra in _extras(hint):
        if isinstance(getattr(extra, "func", None), OneOf):
            return tuple(extra.func.choices())
    hint, _ = _unwrap(hint)
    if typing.get_origin(hint) is Literal:
        return tuple(map(str, typing.get_args(hint)))
    return None


@dataclasses.dataclass(frozen=True)
class _Wording:
    names: tuple[str, ...]  # the valid names
    noun: str = "option"  # "unknown {noun}(s) [...]"
    subject: str = ""  # before an option's name: "sweep seeds must be ..."
    listing: str = ""  # after the valid names: " (python -m saw_bench config lists them)"


def checked(
    *, noun: str = "option", subject: str = "", listing: str = "", frozen: bool = False
) -> Callable[[Class], Class]:
    """A class decorator: a pydantic dataclass whose constructor checks every field (and runs
    ``__post_init__``) and raises one :class:`OptionError` line. ``noun`` names the options in
    the message for unknown ones, ``subject`` goes before a field's name, ``listing`` after the
    valid names. ``dataclasses.fields``, ``asdict`` and ``replace`` work as on any dataclass."""

    def decorate(cls: Class) -> Class:
        cls = pydantic.dataclasses.dataclass(cls, config=STRICT, frozen=frozen)  # type: ignore[assignment]
        names = tuple(entry.name for entry in dataclasses.fields(cls))
        wording = _Wording(names, noun, subject, listing)
        validate = cls.__init__

        @functools.wraps(validate)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            try:
                validate(self, *args, **kwargs)
            except ValidationError as error:
                given = {**dict(zip(names, args, strict=False)), **kwargs}
                hints = typing.get_type_hints(cls, include_extras=True)
                raise _one_line(error.errors(), hints, given, wording) from None

        cls.__init__ = __init__  # type: ignore[misc]
        return cls

    return decorate


def checked_call(function: Function) -> Function:
    """A function (a task's ``__init__``) whose arguments are checked against their annotations
    before it runs, with one :class:`OptionError` line for a bad or unknown one."""
    validated = pydantic.validate_call(config=ConfigDict(strict=True))(function)
    parameters = inspect.signature(function).parameters
    names = tuple(
        name
        for name, parameter in parameters.items()
        if name != "self" and parameter.kind is not parameter.VAR_KEYWORD
    )
    wording = _Wording(names)

    @functools.wraps(function)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return validated(*args, **kwargs)
        except ValidationError as error:
            hints = typing.get_type_hints(function, include_extras=True)
            raise _one_line(error.errors(), hints, kwargs, wording) from None

    return call  # type: ignore[return-value]


def check(name: str, value: Any, hint: Any) -> Any:
    """``value`` checked against the type ``hint`` as the option ``name`` (returned as
    checked), for a check outside a constructor."""
    try:
        return pydantic.TypeAdapter(hint).validate_python(value, strict=True)
    except ValidationError as error:
        details = [{**detail, "loc": (name, *detail["loc"])} for detail in error.errors()]
        raise _one_line(details, {name: hint}, {name: value}, _Wording((name,))) from None


@contextlib.contextmanager
def reading(where: str, names: Collection[str] | None = None) -> Iterator[None]:
    """Options read from a file or a flag, ``where``: errors of the options built inside name
    it, and call unknown names its keys. ``names``: the keys read there, when the options
    built inside also come from elsewhere; then only unknown names among them are attributed
    to ``where``, and other errors pass unchanged."""
    try:
        yield
    except UnknownOptionError as error:
        mine = [name for name in error.names if names is None or name in names]
        if not mine:
            raise
        raise UnknownOptionError(mine, error.valid, "key", where, error.listing) from None
    except SawBenchError as error:
        if names is not None:
            raise
        kind = OptionError if isinstance(error, OptionError) else SawBenchError
        raise kind(f"{where}: {error}") from None


def _one_line(
    details: Sequence[Any], hints: dict[str, Any], given: dict[str, Any], wording: _Wording
) -> OptionError:
    """The first of pydantic's errors as one line (all unknown names together)."""
    unknown = [str(d["loc"][0]) for d in details if d["type"] == "unexpected_keyword_argument"]
    if unknown:
        return UnknownOptionError(unknown, wording.names, wording.noun, listing=wording.listing)
    detail = details[0]
    raised = (detail.get("ctx") or {}).get("error")
    if isinstance(raised, OptionError):  # raised by a validator or __post_init__
        return raised
    if isinstance(raised, Exception):
        return OptionError(str(raised))
    location = detail["loc"]
    if not location:
        return OptionError(detail["msg"])
    name = str(location[0])
    hint = hints.get(name, Any)
    if detail["type"] == "missing_argument":
        return OptionError(f"{wording.subject}{name} is required")
    if detail["type"] in BOUND_ERRORS:
        within = len(location) > 1 and isinstance(location[1], int)  # an item of a list
        what = describe(_item(hint) if within else hint, plural=within, bounds=True)
        value = detail["input"]
    else:
        what, value = describe(hint), given.get(name, detail["input"])
    return OptionError(f"{wording.subject}{name} must be {what}, but got {value!r}")


def describe(hint: Any, plural: bool = False, bounds: bool = False) -> str:
    """A type in words: ``an integer``, ``a list of numbers (or unset)``, ``'seen' or 'novel'``;
    with ``bounds``, its own bounds too (``a positive integer``, ``an integer from 2 to 6``),
    which a list's items always carry."""
    for extra in _extras(hint):
        if isinstance(getattr(extra, "func", None), OneOf):
            return f"one of {', '.join(extra.func.choices())}"
    hint, limits = _unwrap(hint)
    limits = limits if bounds else {}
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        members = [member for member in typing.get_args(hint) if member is not type(None)]
        if {_unwrap(member)[0] for member in members} == {int, float}:
            text = _numeric("number", limits, plural)
        else:
            text = " or ".join(describe(member, plural, bounds) for member in members)
        optional = len(members) < len(typing.get_args(hint))
        return f"{text} (or unset)" if optional and not bounds else text
    if origin in (list, tuple, Sequence):
        items = describe(typing.get_args(hint)[0], plural=True, bounds=True)
        if plural:
            return f"lists of {items}"
        return f"{'a non-empty' if limits.get('min_length') else 'a'} list of {items}"
    if origin is dict:
        return "tables" if plural else "a table"
    if origin is Literal:
        values = [repr(value) for value in typing.get_args(hint)]
        if len(values) == 2:
            return " or ".join(values)
        return f"one of {', '.join(values)}"
    if hint is bool:
        return "true or false"
    if hint is int:
        return _numeric("integer", limits, plural)
    if hint is float:
        return _numeric("number", limits, plural)
    if hint is str:
        return "strings" if plural else "a string"
    return getattr(hint, "__name__", str(hint))


def _numeric(kind: str, limits: dict[str, Any], plural: bool) -> str:
    """``a positive integer``, ``an integer from 2 to 6``, ``positive`` (a number), ..."""
    noun = f"{kind}s" if plural else kind
    article = "" if plural else ("an " if kind == "integer" else "a ")
    low, high = limits.get("ge"), limits.get("le")
    if limits.get("gt") == 0 and high is None:
        if kind == "number" and not plural:
            return "positive"
        return f"{'' if plural else 'a '}positive {noun}"
    if low is not None and high is not None:
        span = f"from {low} to {high}" if kind == "integer" else f"between {low} and {high}"
        return f"{article}{noun} {span}"
    if low is not None:
        finite = "finite " if kind == "number" else ""
        article = "a " if finite and not plural else article
        return f"{article}{finite}{noun} >= {low}"
    if limits.get("gt") is not None:
        return f"{article}{noun} > {limits['gt']}"
    if high is not None:
        return f"{article}{noun} <= {high}"
    return f"{article}{noun}"


def _unwrap(hint: Any) -> tuple[Any, dict[str, Any]]:
    """The type inside ``Annotated[...]`` and its bounds (gt, ge, lt, le, min_length)."""
    limits: dict[str, Any] = {}
    while typing.get_origin(hint) is Annotated:
        for extra in hint.__metadata__:
            for item in (extra, *getattr(extra, "metadata", ())):
                for key in ("gt", "ge", "lt", "le", "min_length"):
                    if getattr(item, key, None) is not None:
                        limits[key] = getattr(item, key)
        hint = hint.__origin__
    return hint, limits


def _extras(hint: Any) -> tuple[Any, ...]:
    """The metadata of ``Annotated[...]`` (validators such as :func:`one_of`)."""
    return tuple(hint.__metadata__) if typing.get_origin(hint) is Annotated else ()


def _item(hint: Any) -> Any:
    """The item type of a list type (of ``X | None``, of ``Annotated[...]``)."""
    hint, _ = _unwrap(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(member for member in typing.get_args(hint) if member is not type(None))
        hint, _ = _unwrap(hint)
    return typing.get_args(hint)[0]
