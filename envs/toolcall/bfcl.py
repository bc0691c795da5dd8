"""BFCL v4's single-turn categories as a tool-calling environment, scored by BFCL's own checker.

The Berkeley Function Calling Leaderboard (Patil et al., "The Berkeley Function Calling
Leaderboard (BFCL): From Tool Use to Agentic Evaluation of Large Language Models", ICML 2025)
ships its data and its AST checker in the PyPI package ``bfcl-eval``; saw-bench reads both from
the installed package (``pip install --no-deps bfcl-eval==2026.3.23``) and downloads nothing.

Items. One per BFCL entry of the chosen categories, in the family's schema
(:mod:`saw_bench.envs.toolcall.task`): ``messages`` is the prompt (the family's system prompt
listing the BFCL function docs unchanged, a note on argument syntax for Java and JavaScript,
then the entry's first-turn messages; an entry's own system message is appended to ours),
``tools`` the BFCL function docs, ``category``, the raw ``possible_answer``, and ``answer``:
for the irrelevance categories no call and a short response; otherwise one call per
ground-truth entry, each parameter taking its first acceptable value other than ``""``
(BFCL's mark for "may be omitted"). A parameter is left out when ``""`` is its only acceptable
value, or when ``""`` is acceptable and the function doc does not declare it (a few answers
list such parameters); a required parameter whose only acceptable value is ``""`` gets ``""``.
Dict answers, which list acceptable values per key, are made concrete the same way. BFCL is
an evaluation set: ``split("train")`` and ``split("test")`` return the same items.

Correctness, in {-3, +3}. The ``<tool_call>`` block is read as JSON (never evaluated) into
BFCL's ``[{name: {argument: value}}]`` and judged by
``bfcl_eval.eval_checker.ast_eval.ast_checker.ast_checker``: +3 when it says valid, else -3
(no block or an unparsable one also gives -3, as BFCL's ``ast_decoder:decoder_failed``). For
the irrelevance categories, +3 when the completion has no parsable call (BFCL's rule: an entry
is correct when the decoder finds no function call), -3 otherwise. Java and JavaScript
arguments are checked by BFCL as source strings ("42L", "new ArrayList<>(...)"): a JSON string
is passed on verbatim, any other JSON value is first written as the source text BFCL's type
converters read back (``true`` -> "true", 42 for a ``long`` -> "42L", a list for an
``ArrayList`` -> "new ArrayList<>(Arrays.asList(...))"). A Java/JS collection text on which
BFCL's regular expressions would backtrack for seconds is judged wrong without running the
checker (:func:`bounded_collection_text`), and an exception raised by the checker counts as
a wrong answer. :meth:`ToolCallBFCLTask.diagnose` reports the checker's ``error_type`` ("" when
valid, ``saw_bench:unsafe_argument`` or ``saw_bench:checker_exception`` for those two cases).
The format objective and the optional brevity objective are the family's.

Aggregation (:func:`group_accuracies`) mirrors ``generate_leaderboard_csv`` in
``bfcl_eval/eval_checker/eval_runner_helper.py``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import sys
import threading
import types
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from saw_bench.core.errors import DataError
from saw_bench.core.task import Item
from saw_bench.envs.toolcall import rewards
from saw_bench.envs.toolcall.task import SYSTEM_PROMPT, ToolCallTask

BFCL_INSTALL = "pip install --no-deps bfcl-eval==2026.3.23"
NON_LIVE_SIMPLE = ("simple_python", "simple_java", "simple_javascript")
NON_LIVE_AST = (*NON_LIVE_SIMPLE, "multiple", "parallel", "parallel_multiple")
LIVE_AST = ("live_simple", "live_multiple", "live_parallel", "live_parallel_multiple")
IRRELEVANCE = ("irrelevance", "live_irrelevance")
#: Every category this environment reads; all of them by default.
CATEGORIES = (*NON_LIVE_AST, *LIVE_AST, *IRRELEVANCE)

IRRELEVANCE_RESPONSE = "None of the available functions fits this request."
LANGUAGE_NOTES = {
    "java": "\nThe functions are Java 8 methods: give each argument as a JSON value, or as a "
    "JSON string holding Java source such as a variable name or new int[]{1, 2}.",
    "javascript": "\nThe functions are JavaScript functions: give each argument as a JSON "
    "value, or as a JSON string holding JavaScript source such as a variable name.",
}
CHECKER_EXCEPTION = "saw_bench:checker_exception"
DECODER_FAILED = "ast_decoder:decoder_failed"  # BFCL's error type for output it cannot read
IRRELEVANCE_FAILED = "irrelevance_error:decoder_success"  # BFCL's: a call where none fits

_OMITTED = object()  # a parameter whose first usable acceptable value is "omit it"
_DICT_TYPES = frozenset({"dict", "HashMap", "Hashtable"})
_LIST_TYPES = frozenset({"array", "tuple", "Array", "ArrayList", "Queue", "Stack"})
_JAVA_ARRAY_TYPES = {"integer": "int", "String": "String", "long": "long", "double": "double"}
_NESTED_DEPTH_LIMIT = 32  # deeper parts of JSON arguments are written as "..."
#: Java/JS collection texts longer than this are judged wrong without running the checker.
MAX_COLLECTION_CHARS = 512
#: Nested-array texts with more ``]`` than this are judged wrong without running the checker.
MAX_NESTED_CLOSINGS = 12
UNSAFE_ARGUMENT = "saw_bench:unsafe_argument"
_COLLECTION_TYPES = {
    "java": frozenset({"Array", "ArrayList", "HashMap", "Hashtable", "Set", "Queue", "Stack"}),
    "javascript": frozenset({"array", "dict"}),
}
_WHITESPACE_RUN = re.compile(r"\s{2,}")
_NESTED_ARRAY = re.compile(r"\[\s*\[|new\s+Array\(\s*\[")


def language_of(category: str) -> str:
    """BFCL's checker language for a category (``is_java`` / ``is_js`` in bfcl_eval.utils)."""
    if "javascript" in category:
        return "javascript"
    return "java" if "java" in category else "python"


# --------------------------------------------------------------------------- the checker
class _Checker(NamedTuple):
    ast_checker: Any
    languages: dict[str, Any]  # "python" | "java" | "javascript" -> bfcl's Language member
    model_name: str


#: The model name given to the checker. BFCL's ``convert_func_name`` looks it up in
#: MODEL_CONFIG_MAPPING only to decide whether dots in function names become underscores
#: (done for APIs that forbid dots); our prompt shows the names unchanged, so: no.
STUB_MODEL_NAME = "saw-bench-json-tool-calls"
_MODEL_CONFIG = "bfcl_eval.constants.model_config"
_AST_CHECKER = "bfcl_eval.eval_checker.ast_eval.ast_checker"
_checker_lock = threading.Lock()
_checker: _Checker | None = None


def require_bfcl() -> Path:
    """The installed ``bfcl_eval`` package folder, found without importing it."""
    try:
        spec = importlib.util.find_spec("bfcl_eval")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin:
        raise DataError(f"BFCL needs the bfcl-eval package; install it with `{BFCL_INSTALL}`")
    return Path(spec.origin).parent


def load_checker() -> _Checker:
    """Import BFCL's AST checker once, without its model registry.

    ``ast_checker.py`` imports ``bfcl_eval.constants.model_config``, which imports every model
    handler (dozens of API clients). While the checker module is imported, a stub module with
    one entry stands in for it; afterwards ``sys.modules`` is put back as it was for both names,
    so a later ``import bfcl_eval...`` elsewhere gets the real modules. Nothing that creates
    folders (``bfcl_eval.utils``, ``eval_runner``) is imported.
    """
    global _checker
    if _checker is not None:
        return _checker
    with _checker_lock:
        if _checker is not None:
            return _checker
        require_bfcl()
        saved = {name: sys.modules.pop(name, None) for name in (_MODEL_CONFIG, _AST_CHECKER)}
        stub = types.ModuleType(_MODEL_CONFIG)
        stub.MODEL_CONFIG_MAPPING = {  # type: ignore[attr-defined]
            STUB_MODEL_NAME: types.SimpleNamespace(underscore_to_dot=False)
        }
        sys.modules[_MODEL_CONFIG] = stub
        try:
            module = importlib.import_module(_AST_CHECKER)
        except ImportError as error:
            raise DataError(
                f"cannot import BFCL's checker ({error}); reinstall it with `{BFCL_INSTALL}`"
            ) from error
        finally:
            for name, previous in saved.items():
                if previous is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = previous
            package = sys.modules.get(_AST_CHECKER.rpartition(".")[0])
            if package is not None:  # importing a submodule also set it on its package
                if saved[_AST_CHECKER] is None:
                    vars(package).pop("ast_checker", None)
                else:
                    package.ast_checker = saved[_AST_CHECKER]
        languages = {member.value: member for member in module.Language}
        _checker = _Checker(module.ast_checker, languages, STUB_MODEL_NAME)
        return _checker


# --------------------------------------------------------------------------- data
def read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line of a JSON Lines file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise DataError(f"BFCL data file {path} does not exist") from error
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"cannot read BFCL data file {path}: {error}") from error
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError) as error:
            raise DataError(f"{path}, line {number}: not valid JSON ({error})") from error
        if not isinstance(row, dict):
            raise DataError(f"{path}, line {number}: expected a JSON object")
        rows.append((number, row))
    return rows


def _is_message(message: Any) -> bool:
    return (
        isinstance(message, dict)
        and isinstance(message.get("role"), str)
        and isinstance(message.get("content"), str)
    )


def _check_entry(row: dict[str, Any], where: str) -> None:
    question = row.get("question")
    if not isinstance(row.get("id"), str):
        raise DataError(f"{where}: 'id' must be a string")
    if (
        not isinstance(question, list)
        or not question
        or not isinstance(question[0], list)
        or not question[0]
        or not all(_is_message(message) for message in question[0])
    ):
        raise DataError(f"{where}: 'question' must be [[{{role, content}}, ...], ...]")
    functions = row.get("function")
    if not isinstance(functions, list) or not all(
        isinstance(f, dict)
        and isinstance(f.get("name"), str)
        and isinstance(f.get("parameters"), dict)
        and isinstance(f["parameters"].get("properties"), dict)
        for f in functions
    ):
        raise DataError(f"{where}: 'function' must be a list of {{name, parameters}} docs")


def _check_ground_truth(row: dict[str, Any], where: str) -> None:
    truth = row.get("ground_truth")
    if not isinstance(truth, list) or not truth:
        raise DataError(f"{where}: 'ground_truth' must be a non-empty list")
    for call in truth:
        if not (isinstance(call, dict) and len(call) == 1):
            raise DataError(f"{where}: each ground-truth call must be {{name: {{param: [...]}}}}")
        (parameters,) = call.values()
        if not isinstance(parameters, dict) or not all(
            isinstance(values, list) for values in parameters.values()
        ):
            raise DataError(f"{where}: ground-truth parameters must map to lists of values")


def load_category(data_dir: Path, category: str) -> list[Item]:
    """The items of one BFCL category read from ``data_dir`` (BFCL's ``data`` folder layout)."""
    path = data_dir / f"BFCL_v4_{category}.json"
    entries = read_jsonl(path)
    for number, row in entries:
        _check_entry(row, f"{path}, line {number}")
    truths: dict[str, list[dict[str, Any]]] = {}
    if category not in IRRELEVANCE:
        answer_path = data_dir / "possible_answer" / f"BFCL_v4_{category}.json"
        for number, row in read_jsonl(answer_path):
            where = f"{answer_path}, line {number}"
            if not isinstance(row.get("id"), str):
                raise DataError(f"{where}: 'id' must be a string")
            _check_ground_truth(row, where)
            truths[row["id"]] = row["ground_truth"]
    items = []
    for number, row in entries:
        if category in IRRELEVANCE:
            truth: list[dict[str, Any]] = []
        elif row["id"] in truths:
            truth = truths[row["id"]]
        else:
            raise DataError(
                f"{path}, line {number}: entry {row['id']!r} has no possible answer in "
                f"{data_dir / 'possible_answer' / path.name}"
            )
        items.append(make_item(row, truth, category))
    return items


def make_item(entry: dict[str, Any], truth: list[dict[str, Any]], category: str) -> Item:
    """One item of the family's schema from a BFCL entry and its possible answer."""
    functions = entry["function"]
    turn = entry["question"][0]
    tools = "\n".join(json.dumps(function, ensure_ascii=False) for function in functions)
    system = SYSTEM_PROMPT.format(tools=tools) + LANGUAGE_NOTES.get(language_of(category), "")
    messages = [{"role": m["role"], "content": m["content"]} for m in turn]
    if messages[0]["role"] == "system":  # one system message: ours, then the entry's
        system = f"{system}\n\n{messages.pop(0)['content']}"
    irrelevant = category in IRRELEVANCE
    return {
        "id": entry["id"],
        "category": category,
        "query": "\n\n".join(m["content"] for m in messages if m["role"] == "user"),
        "tools": functions,
        "messages": [{"role": "system", "content": system}, *messages],
        "answer": {
            "tool_calls": [] if irrelevant else reference_calls(functions, truth),
            "response": IRRELEVANCE_RESPONSE if irrelevant else None,
        },
        "possible_answer": truth,
    }


def _first_acceptable(values: list[Any]) -> Any:
    for value in values:
        if value != "":
            return value
    return _OMITTED


def _concrete(value: Any, schema: Mapping[str, Any]) -> Any:
    """A possible-answer value made concrete: dict answers list acceptable values per key."""
    kind = schema.get("type")
    if kind in _DICT_TYPES and isinstance(value, dict):
        concrete = {}
        for key, values in value.items():
            first = _first_acceptable(values) if isinstance(values, list) else values
            if first is not _OMITTED:
                concrete[key] = first
        return concrete
    item_kind = (schema.get("items") or {}).get("type")
    if kind in _LIST_TYPES and item_kind in _DICT_TYPES and isinstance(value, list):
        return [_concrete(element, {"type": item_kind}) for element in value]
    return value


def reference_calls(
    functions: Sequence[Mapping[str, Any]], truth: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One call per ground-truth entry, built from the first acceptable value of each param."""
    docs = {function["name"]: function for function in functions}
    calls = []
    for entry in truth:
        ((name, parameters),) = entry.items()
        schema = docs.get(name, {}).get("parameters", {})
        properties, required = schema.get("properties", {}), schema.get("required", ())
        arguments = {}
        for parameter, values in parameters.items():
            value = _first_acceptable(values)
            if "" in values and parameter not in properties:
                value = _OMITTED  # a few answers list an optional parameter the doc lacks
            elif value is _OMITTED and "" in values and parameter in required:
                value = ""  # required, and "" is its only acceptable value
            if value is not _OMITTED:
                arguments[parameter] = _concrete(value, properties.get(parameter, {}))
        calls.append({"name": name, "parameters": arguments})
    return calls


# --------------------------------------------------------------------------- Java / JavaScript
def _number(value: int | float) -> str:
    """A number without exponent (BFCL's JavaScript float pattern has none)."""
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    if "e" in text or "E" in text:
        text = format(Decimal(text), "f")
    return text


def java_source(value: Any, kind: str | None, item_kind: str | None = None, depth: int = 0) -> Any:
    """A JSON argument as the Java source text that BFCL's ``java_type_converter`` reads back.

    Strings are returned as they are (the model wrote source text, or a String's content).
    """
    if isinstance(value, str):
        return value
    if depth > _NESTED_DEPTH_LIMIT:
        return "..."
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = repr(value)
        if kind == "long" and isinstance(value, int):
            return f"{text}L"
        if kind == "float":
            return f"{text}f"
        return text
    if isinstance(value, list):
        if kind == "Array":  # new T[]{...}: elements read by the converter of the item type
            elements = [_java_element(e, item_kind, not item_kind, depth) for e in value]
            array_type = _JAVA_ARRAY_TYPES.get(item_kind or "", "Object")
            return f"new {array_type}[]{{{', '.join(elements)}}}"
        quote = item_kind in (None, "String", "char")  # ArrayList: these elements are quoted
        elements = [_java_element(e, item_kind, quote, depth) for e in value]
        return f"new ArrayList<>(Arrays.asList({', '.join(elements)}))"
    if isinstance(value, dict):
        puts = "".join(
            f'put("{key}", {_java_element(v, None, True, depth)}); ' for key, v in value.items()
        )
        return f"new HashMap<String, Object>() {{{{ {puts}}}}}"
    return str(value)


def _java_element(value: Any, kind: str | None, quote: bool, depth: int) -> str:
    if isinstance(value, str):
        if not quote:
            return value
        return f"'{value}'" if kind == "char" else f'"{value}"'
    return str(java_source(value, kind, None, depth + 1))


def js_source(value: Any, kind: str | None, item_kind: str | None = None, depth: int = 0) -> Any:
    """A JSON argument as the JavaScript source text that BFCL's ``js_type_converter`` reads."""
    if isinstance(value, str):
        return value
    if depth > _NESTED_DEPTH_LIMIT:
        return "..."
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value}n" if kind == "Bigint" and isinstance(value, int) else _number(value)
    if isinstance(value, list):
        return "[" + ", ".join(_js_element(e, depth) for e in value) + "]"
    if isinstance(value, dict):
        pairs = (f'"{key}": {_js_element(v, depth)}' for key, v in value.items())
        return "{" + ", ".join(pairs) + "}"
    return str(value)


def _js_element(value: Any, depth: int) -> str:
    return f'"{value}"' if isinstance(value, str) else str(js_source(value, None, None, depth + 1))


_SOURCE_WRITERS = {"java": java_source, "javascript": js_source}


class UnsafeArgument(ValueError):
    """A Java/JS collection text that BFCL's regular-expression parsers would take too long on."""


def bounded_collection_text(text: str) -> str:
    """A Java/JS collection argument's source text, made safe for BFCL's type converters.

    The converters parse collections with regular expressions that backtrack badly: a run of
    whitespace costs them up to its fourth power, a long text its cube, and a text holding a
    nested array (``[[`` or ``new Array([``) time exponential in its number of ``]``. So runs of
    whitespace become one space (the converters skip whitespace around tokens, and BFCL's
    string comparison drops spaces), and a text over ``MAX_COLLECTION_CHARS`` characters or a
    nested array with more than ``MAX_NESTED_CLOSINGS`` ``]`` raises :class:`UnsafeArgument`.
    No possible answer of BFCL's data comes near either limit (the longest is 152 characters).
    """
    text = _WHITESPACE_RUN.sub(" ", text)
    if len(text) > MAX_COLLECTION_CHARS:
        raise UnsafeArgument(f"{len(text)} characters, over {MAX_COLLECTION_CHARS}")
    if text.count("]") > MAX_NESTED_CLOSINGS and _NESTED_ARRAY.search(text):
        raise UnsafeArgument(f"a nested array with over {MAX_NESTED_CLOSINGS} ']'")
    return text


def to_checker_calls(
    calls: Sequence[Mapping[str, Any]], functions: Sequence[Mapping[str, Any]], language: str
) -> list[dict[str, dict[str, Any]]]:
    """Our calls as the checker's ``[{name: {argument: value}}]`` (source text for Java/JS).

    Raises :class:`UnsafeArgument` for a Java/JS collection text that is too costly to parse.
    """
    writer = _SOURCE_WRITERS.get(language)
    if writer is None:
        return [{call["name"]: call["parameters"]} for call in calls]
    collections = _COLLECTION_TYPES[language]
    properties = {f["name"]: f["parameters"]["properties"] for f in functions}
    converted = []
    for call in calls:
        schemas = properties.get(call["name"], {})
        arguments = {}
        for name, value in call["parameters"].items():
            schema = schemas.get(name)
            if isinstance(schema, dict):
                kind = schema.get("type")
                value = writer(value, kind, (schema.get("items") or {}).get("type"))
                if kind in collections and isinstance(value, str):
                    value = bounded_collection_text(value)
            arguments[name] = value
        converted.append({call["name"]: arguments})
    return converted


# --------------------------------------------------------------------------- the task
class ToolCallBFCLTask(ToolCallTask):
    """BFCL v4 single-turn AST and irrelevance categories, judged by BFCL's AST checker.

    ``categories`` picks BFCL categories (default: all of :data:`CATEGORIES`); ``data_dir``
    reads another copy of BFCL's ``data`` folder instead of the installed package's. Other
    keyword arguments are the family's (``brevity``, ``max_completion_chars``, ...).
    BFCL is evaluation-only: ``split("train")`` and ``split("test")`` are the same items.
    """

    #: The longest rendered prompt of the shipped data has 24,136 characters.
    max_prompt_chars = 65_536
    #: 7 of the 3,625 items have possible answers that the official checker rejects whatever
    #: the output (tests/test_toolcall_bfcl.py lists them and why).
    reference_pass_rate = 0.99

    def __init__(
        self,
        *,
        categories: Sequence[str] | str | None = None,
        data_dir: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if categories is None:
            categories = CATEGORIES
        elif isinstance(categories, str):
            categories = (categories,)
        unknown = [c for c in categories if c not in CATEGORIES]
        if unknown or not categories:
            bad = ", ".join(map(repr, unknown)) if unknown else "none given"
            raise ValueError(
                f"unknown BFCL category {bad}; valid categories: {', '.join(CATEGORIES)}"
            )
        self.categories = tuple(dict.fromkeys(categories))
        package = require_bfcl()  # the checker is needed to score, whatever the data's source
        self.data_dir = Path(data_dir) if data_dir is not None else package / "data"
        self._items: list[Item] = []
        for category in self.categories:
            self._items.extend(load_category(self.data_dir, category))
        longest = max((len(self.render_prompt(item)) for item in self._items), default=0)
        self.max_prompt_chars = max(type(self).max_prompt_chars, longest)

    def split(self, name: str) -> Sequence[Item]:
        self.check_split_name(name)
        return self._items

    # ------------------------------------------------------------------ scoring
    def benchmark_metrics(
        self, items: Sequence[Item], completions: Sequence[str]
    ) -> dict[str, float]:
        """BFCL's group accuracies (:func:`group_accuracies`) of these completions."""
        return group_accuracies(
            (item["category"], self.check(item, self.truncate(completion))[0])
            for item, completion in zip(items, completions, strict=True)
        )

    def check(self, item: Item, completion: str) -> tuple[bool, str]:
        """(valid, BFCL error type or "") for one truncated completion. Never raises."""
        calls = rewards.extract_tool_calls(completion)
        category = item["category"]
        if category in IRRELEVANCE:
            return (True, "") if calls is None else (False, IRRELEVANCE_FAILED)
        if calls is None:
            return False, DECODER_FAILED
        checker = load_checker()
        language = language_of(category)
        try:
            model_output = to_checker_calls(calls, item["tools"], language)
        except UnsafeArgument:
            return False, UNSAFE_ARGUMENT
        try:
            result = checker.ast_checker(
                item["tools"],
                model_output,
                item["possible_answer"],
                checker.languages[language],
                category,
                checker.model_name,
            )
            if result["valid"] is True:
                return True, ""
            return False, str(result.get("error_type") or "")
        except Exception:  # third-party code on untrusted input: any failure is a wrong answer
            return False, CHECKER_EXCEPTION

    def correctness(self, item: Item, completion: str) -> float:
        valid, _ = self.check(item, completion)
        return rewards.CORRECTNESS_HIGH if valid else rewards.CORRECTNESS_LOW

    def diagnose(self, item: Item, completion: str) -> dict[str, Any]:
        info = super().diagnose(item, completion)
        _, error_type = self.check(item, completion)
        info["bfcl_error_type"] = error_type
        info["bfcl_category"] = item["category"]
        return info


# --------------------------------------------------------------------------- aggregation
def group_accuracies(
    results: Mapping[str, Sequence[bool]] | Iterable[tuple[str, bool]],
) -> dict[str, float]:
    """BFCL's accuracies from per-item results, aggregated as BFCL's leaderboard does.

    ``results`` maps each category to its items' correctness, or is ``(category, correct)``
    pairs. The returned dict (accuracies in [0, 1]) holds, for what is present:

    * one entry per category: correct / items;
    * ``simple``: the unweighted mean of simple_python, simple_java, simple_javascript;
    * ``non_live``: the unweighted mean of ``simple``, multiple, parallel, parallel_multiple
      (BFCL's "Non-Live AST Acc", built with ``calculate_unweighted_accuracy``);
    * ``live``: the mean of live_simple, live_multiple, live_parallel, live_parallel_multiple
      weighted by their item counts (BFCL's "Live Acc", ``calculate_weighted_accuracy``);
    * ``irrelevance_detection``: the unweighted mean of irrelevance and live_irrelevance
      (BFCL's "Irrelevance Detection"); the two categories also have their own entries;
    * ``single_turn``: the unweighted mean of ``non_live``, ``live`` and
      ``irrelevance_detection``. Not a BFCL number: BFCL's overall also weighs multi-turn and
      agentic groups, which this environment does not have; among these three its weights
      are equal (10/10/10 in ``generate_leaderboard_csv``).

    Mirrored: ``generate_leaderboard_csv`` in ``bfcl_eval/eval_checker/eval_runner_helper.py``
    (bfcl-eval 2026.3.23). One difference: BFCL counts a category it did not evaluate as 0 in a
    group's accuracy (and shows the group as N/A); here a group averages the categories
    present and is left out when none is.
    """
    if isinstance(results, Mapping):
        outcomes = {category: list(values) for category, values in results.items()}
    else:
        outcomes = {}
        for category, correct in results:
            outcomes.setdefault(category, []).append(correct)
    unknown = sorted(set(outcomes) - set(CATEGORIES))
    if unknown:
        raise ValueError(
            f"unknown BFCL category {', '.join(map(repr, unknown))}; "
            f"valid categories: {', '.join(CATEGORIES)}"
        )
    accuracy: dict[str, float] = {}
    for category in CATEGORIES:
        if category in outcomes:
            if not outcomes[category]:
                raise ValueError(f"category {category!r} has no results")
            accuracy[category] = _correct(outcomes[category]) / len(outcomes[category])
    _add_mean(accuracy, "simple", NON_LIVE_SIMPLE)
    _add_mean(accuracy, "non_live", ("simple", *NON_LIVE_AST[len(NON_LIVE_SIMPLE) :]))
    live = [category for category in LIVE_AST if category in outcomes]
    if live:  # weighted by item counts: all live items pooled
        accuracy["live"] = sum(_correct(outcomes[c]) for c in live) / sum(
            len(outcomes[c]) for c in live
        )
    _add_mean(accuracy, "irrelevance_detection", IRRELEVANCE)
    _add_mean(accuracy, "single_turn", ("non_live", "live", "irrelevance_detection"))
    return accuracy


def _correct(outcomes: Sequence[bool]) -> int:
    return sum(1 for outcome in outcomes if outcome)


def _add_mean(accuracy: dict[str, float], name: str, parts: Sequence[str]) -> None:
    """accuracy[name] = unweighted mean of the parts present (nothing when none is)."""
    present = [accuracy[part] for part in parts if part in accuracy]
    if present:
        accuracy[name] = sum(present) / len(present)


def evaluate(task: ToolCallBFCLTask, completions: Sequence[str]) -> dict[str, float]:
    """Score one completion per test item of ``task`` and return :func:`group_accuracies`."""
    items = task.split("test")
    if len(completions) != len(items):
        raise ValueError(
            f"evaluate() needs one completion per test item ({len(items)}), "
            f"but got {len(completions)}"
        )
    return task.benchmark_metrics(items, completions)
