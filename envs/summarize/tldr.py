"""Reddit TL;DR posts and their authors' summaries: the data of ``saw/Summarize-TLDR-v0``.

The SAW paper (arXiv 2606.07705) trains on Reddit TL;DR posts (2,560 train / 256 eval). The
posts and summaries are the filtered Reddit TL;DR set of OpenAI's "Learning to summarize from
human feedback", which the Hugging Face Hub serves as ``trl-lib/tldr`` (splits ``train``,
``validation``, ``test``) in this layout, one row per post::

    prompt       "SUBREDDIT: r/{subreddit}\\n\\nTITLE: {title}\\n\\nPOST: {post}\\n\\nTL;DR:"
    completion   " {summary}"  (the author's TL;DR, the reference)

OpenAI's own JSON Lines files (``train.jsonl``, ``valid.jsonl``, ``test.jsonl`` with columns
``subreddit``, ``title``, ``post``, ``summary``) are read too. A prompt that does not follow
the template above is taken whole (without a trailing "TL;DR:") as the post.

Where the data comes from
    ``data_path``: a parquet, JSON or JSON Lines file (the train split), or a folder holding
    ``train.*`` and ``test.*`` (or ``validation.*``/``valid.*``, see ``test_split``), or a Hub
    snapshot with ``data/train-*.parquet`` shards. ``test_path`` names a test file explicitly.
    Without ``data_path`` the ``dataset`` (default ``trl-lib/tldr``) is loaded from the Hub
    with ``datasets.load_dataset`` (downloaded once, then read from the datasets cache).
    Local files are streamed with ``datasets``, so only the first ``train_size`` /
    ``test_size`` rows (defaults 2,560 and 256, as in the paper; None for all) are read.

Items
    ``{"id", "subreddit", "title", "post", "reference", "word_budget"}``. A row with a
    missing or non-text field, an empty post or a summary without words raises
    :class:`saw_bench.core.errors.DataError` naming the file and the row.

Word budget
    ``word_budget = max(10, ceil(1.25 * w))`` with ``w`` the reference's whitespace words: a
    summary as long as the author's TL;DR (plus a quarter) keeps full conciseness, and very
    short references do not make every real sentence too long. A 20-word reference gives a
    budget of 25 (conciseness 10 up to 25 words, 0 at 75), a 6-word one a budget of 10.

Scores
    The reference judge's quality is :func:`.rewards.rouge_quality` (stemmed ROUGE-1 and ROUGE-L
    against the reference); conciseness is :func:`.rewards.conciseness`. The reference
    completion scores 10 on both, except where the author's TL;DR repeats most of a very short
    post word for word (the no-pasting rule), hence ``reference_pass_rate`` 0.98.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from saw_bench.core.errors import DataError
from saw_bench.core.task import Item

from . import rewards
from .task import SummarizeTask, check_size, summary_objectives

SUFFIXES = (".parquet", ".jsonl", ".json")
BUILDERS = {".parquet": "parquet", ".jsonl": "json", ".json": "json"}
TEST_SPLITS = ("test", "validation")
DEFAULT_DATASET = "trl-lib/tldr"
MIN_WORD_BUDGET = 10
SYSTEM_PROMPT = (
    "Summarize the Reddit post in one short sentence that keeps its main point. Start with TL;DR:"
)
_TEMPLATE = re.compile(
    r"\ASUBREDDIT: r/(?P<subreddit>[^\n]*)\n\nTITLE: (?P<title>.*?)\n\nPOST: (?P<post>.*?)"
    r"\s*TL;DR:\s*\Z",
    re.DOTALL,
)
_TRAILING_TLDR = re.compile(r"\s*TL;DR:\s*\Z")


def word_budget(reference: str) -> int:
    """``max(10, ceil(1.25 * words))``: the word budget of a reference summary."""
    words = len(reference.split())
    return max(MIN_WORD_BUDGET, (5 * words + 3) // 4)


class SummarizeTLDRTask(SummarizeTask):
    """Reddit TL;DR posts (trl-lib/tldr or a local copy) to summarize in one short line."""

    reference_quality = staticmethod(rewards.rouge_quality)
    reference_quality_rule = "10 * (ROUGE-1 F1 + ROUGE-L F1) / 2 against the author's TL;DR"
    objectives = summary_objectives("reference", reference_quality_rule)
    system_prompt = SYSTEM_PROMPT
    max_completion_chars = 4000
    reference_pass_rate = 0.98

    def __init__(
        self,
        *,
        data_path: str | Path | None = None,
        test_path: str | Path | None = None,
        dataset: str = DEFAULT_DATASET,
        test_split: str = "test",
        train_size: int | None = 2560,
        test_size: int | None = 256,
        judge: str = "reference",
        judge_kwargs: dict[str, Any] | None = None,
    ) -> None:
        for name, size in (("train_size", train_size), ("test_size", test_size)):
            if size is not None:
                check_size(name, size)
        if test_split not in TEST_SPLITS:
            raise ValueError(
                f"test_split must be one of {', '.join(TEST_SPLITS)}, but got {test_split!r}"
            )
        if not isinstance(dataset, str) or not dataset:
            raise ValueError(f"dataset must be a Hub dataset id, but got {dataset!r}")
        self.sizes = {"train": train_size, "test": test_size}
        self.source_splits = {"train": "train", "test": test_split}
        self.dataset = dataset
        self.paths: dict[str, list[Path]] | None = None
        if data_path is not None:
            self.paths = _split_paths(
                Path(data_path), test_split, None if test_path is None else Path(test_path)
            )
        elif test_path is not None:
            raise DataError("test_path needs data_path (the train file) as well")
        self._items: dict[str, list[Item]] = {}
        self._set_judge(judge, judge_kwargs)

    def split(self, name: str) -> list[Item]:
        self.check_split_name(name)
        if name not in self._items:
            self._items[name] = self._load(name)
        return self._items[name]

    def post_text(self, item: Item) -> str:
        lines = []
        if item["subreddit"]:
            lines.append(f"SUBREDDIT: r/{item['subreddit']}")
        if item["title"]:
            lines.append(f"TITLE: {item['title']}")
        lines.append(f"POST: {item['post']}" if lines else item["post"])
        return "\n\n".join(lines)

    @classmethod
    def example_kwargs(cls, directory: Path) -> dict[str, Any]:
        return {"data_path": str(write_example_data(directory))}

    # ------------------------------------------------------------------ loading
    def _load(self, name: str) -> list[Item]:
        limit = self.sizes[name]
        if self.paths is None:
            return _read_hub(self.dataset, self.source_splits[name], name, limit)
        if name not in self.paths:
            raise DataError(
                f"no {name!r} data: pass test_path=... or put {self.source_splits[name]}.parquet "
                f"(or .jsonl/.json) next to {self.paths['train'][0]}"
            )
        items: list[Item] = []
        for path in self.paths[name]:
            remaining = None if limit is None else limit - len(items)
            if remaining == 0:
                break
            items += items_from_rows(
                _stream_file(path, remaining), str(path), name, first_index=len(items)
            )
        if not items:
            raise DataError(f"{', '.join(map(str, self.paths[name]))}: no rows")
        return items


def _split_paths(data_path: Path, test_split: str, test_path: Path | None) -> dict[str, list[Path]]:
    if data_path.is_dir():
        paths = {}
        for split, source in (("train", "train"), ("test", test_split)):
            found = _files_in(data_path, source)
            if found:
                paths[split] = found
        if "train" not in paths:
            raise DataError(
                f"folder {data_path} has no train.parquet, train.jsonl, train.json or "
                f"train-*.parquet shards"
            )
    elif data_path.is_file():
        paths = {"train": [data_path]}
    else:
        raise DataError(f"data file {data_path} does not exist")
    if test_path is not None:
        if not test_path.is_file():
            raise DataError(f"test file {test_path} does not exist")
        paths["test"] = [test_path]
    for files in paths.values():
        for path in files:
            if path.suffix not in SUFFIXES:
                raise DataError(f"{path}: expected a {', '.join(SUFFIXES)} file")
    return paths


def _files_in(folder: Path, source: str) -> list[Path]:
    """``<source>.parquet|jsonl|json`` in the folder, else ``<source>-*.parquet`` shards below."""
    names = (source, "valid") if source == "validation" else (source,)
    for name in names:
        for suffix in SUFFIXES:
            if (folder / f"{name}{suffix}").is_file():
                return [folder / f"{name}{suffix}"]
    for name in names:
        shards = sorted(folder.glob(f"**/{name}-*.parquet"))
        if shards:
            return shards
    return []


def _stream_file(path: Path, limit: int | None) -> Iterator[dict[str, Any]]:
    """The first ``limit`` rows of a local file, read lazily by ``datasets``."""
    import datasets  # slow to import: only when data is read

    try:
        table = datasets.load_dataset(
            BUILDERS[path.suffix], data_files={"rows": str(path)}, split="rows", streaming=True
        )
        rows = table if limit is None else table.take(limit)
        yield from rows
    except DataError:
        raise
    except Exception as error:  # datasets/pyarrow raise many types for unreadable files
        raise DataError(f"{path}: cannot read it ({type(error).__name__}: {error})") from error


def _read_hub(dataset: str, source_split: str, split: str, limit: int | None) -> list[Item]:
    import datasets

    selection = source_split if limit is None else f"{source_split}[:{limit}]"
    try:
        table = datasets.load_dataset(dataset, split=selection)
    except Exception as error:  # offline, unknown id, missing split, ...
        raise DataError(
            f"cannot load {dataset!r} ({selection}) from the Hugging Face Hub "
            f"({type(error).__name__}: {error}); to work offline pass data_path= a local copy "
            f"(a parquet/JSON/JSONL file or folder in the trl-lib/tldr layout)"
        ) from error
    return items_from_rows(table, f"{dataset} ({source_split})", split)


def items_from_rows(
    rows: Iterable[dict[str, Any]], source: str, split: str, first_index: int = 0
) -> list[Item]:
    """Items from rows in the trl-lib/tldr or the OpenAI layout; DataError names the row."""
    return [
        item_from_row(row, f"{source}, row {index}", f"tldr-{split}-{first_index + index:06d}")
        for index, row in enumerate(rows)
    ]


def item_from_row(row: dict[str, Any], where: str, item_id: str) -> Item:
    """One item; ``where`` ("file, row i") goes into every error."""
    if "prompt" in row or "completion" in row:
        prompt, completion = _text(row, "prompt", where), _text(row, "completion", where)
        match = _TEMPLATE.match(prompt)
        if match:
            subreddit, title, post = match.group("subreddit", "title", "post")
        else:
            subreddit, title, post = "", "", _TRAILING_TLDR.sub("", prompt)
        reference, reference_field = completion, "completion"
    elif "post" in row or "summary" in row:
        post, reference = _text(row, "post", where), _text(row, "summary", where)
        subreddit = _text(row, "subreddit", where) if row.get("subreddit") is not None else ""
        title = _text(row, "title", where) if row.get("title") is not None else ""
        reference_field = "summary"
    else:
        raise DataError(
            f"{where}: expected the columns 'prompt' and 'completion' (trl-lib/tldr) or 'post' "
            f"and 'summary' (OpenAI's TL;DR files), but found {sorted(row)}"
        )
    post, reference = post.strip(), reference.strip()
    if not post:
        raise DataError(f"{where}: the post is empty")
    if not rewards.tokens(reference):
        raise DataError(f"{where}: the summary ({reference_field!r}) has no words")
    return {
        "id": item_id,
        "subreddit": subreddit.strip(),
        "title": title.strip(),
        "post": post,
        "reference": reference,
        "word_budget": word_budget(reference),
    }


def _text(row: dict[str, Any], name: str, where: str) -> str:
    value = row.get(name)
    if value is None:
        raise DataError(f"{where}: the field {name!r} is missing")
    if not isinstance(value, str):
        raise DataError(f"{where}: the field {name!r} must be text, but got {type(value).__name__}")
    return value


# ---------------------------------------------------------------------------- example data
EXAMPLE_POSTS = (
    (
        "relationship_advice",
        "My roommate keeps eating my food and denies it",
        "I (24F) share a flat with a coworker (25F). For about two months food I buy has been "
        "disappearing: yogurt, leftovers, once half a cake I baked for my mum's birthday. When "
        "I asked her about it she said she never touches my shelf. Yesterday I found my "
        "labelled container in her room. I don't want to make living together awful, but I am "
        "tired of paying for her groceries. How do I bring this up without a huge fight?",
        "roommate has been eating my food for two months and lies about it, how do I confront "
        "her without a fight?",
    ),
    (
        "personalfinance",
        "Should I pay off my car loan early or build an emergency fund?",
        "I'm 29 and just got a raise, so I now have about $600 a month left over after bills. "
        "I owe $7,800 on my car at 6.4% interest and I have only $900 in savings. My dad says "
        "to kill the loan as fast as possible, a coworker says to save six months of expenses "
        "first. My job is stable but my car is old and might need repairs soon. What would "
        "you do with the extra money?",
        "Extra $600 a month: pay off a 6.4% car loan early or first build savings beyond my $900?",
    ),
    (
        "AskReddit",
        "What is a small habit that changed your life?",
        "A year ago I started writing down three things I had to do the next day before going "
        "to bed. It sounds silly but I stopped lying awake thinking about work, I forget far "
        "fewer appointments and my mornings are calmer. I'm curious which tiny habits worked "
        "for other people, especially ones that take less than five minutes a day.",
        "Writing tomorrow's three tasks every night made me calmer and more organised; what "
        "small habit helped you?",
    ),
    (
        "dogs",
        "Rescue dog is terrified of men, including my husband",
        "We adopted a three year old shepherd mix in March. She is sweet with me and with our "
        "daughter but hides under the table whenever my husband comes home, and she barked at "
        "my brother for an hour at dinner. The shelter said she was probably mistreated. My "
        "husband has tried treats and ignoring her but after four months nothing changed. Is "
        "there anything else we can try, or should we look for a trainer?",
        "Our rescue dog still fears my husband after four months despite treats; what else "
        "can we try?",
    ),
    (
        "cscareerquestions",
        "Got two offers, higher pay vs better team",
        "I graduate in May and have two offers. Company A pays about 15% more but the team "
        "seemed stressed and the manager cancelled my final interview twice. Company B pays "
        "less, the team was friendly and they have a real mentoring program for new grads. I "
        "have student loans so the money matters, but I also want to learn as much as "
        "possible in my first job.",
        "New grad choosing between a 15% higher offer with a stressed team and a friendly "
        "team with mentoring.",
    ),
    (
        "Cooking",
        "My bread never rises properly",
        "I've baked the same basic white loaf five times now and it always comes out dense and "
        "flat. I use instant yeast, let it rise for an hour in the kitchen which is pretty "
        "cold in winter, and bake at 200C. The yeast is new and the dough feels sticky. I "
        "measure flour with cups. What am I most likely doing wrong?",
        "My white bread comes out dense every time, probably a cold kitchen or bad "
        "measuring; what am I doing wrong?",
    ),
    (
        "legaladvice",
        "Landlord kept my whole deposit for normal wear",
        "I moved out of my apartment in Ohio last month after three years. The landlord kept "
        "the full $1,200 deposit and listed faded paint, a worn carpet and nail holes from "
        "pictures. I have photos from move-in and move-out showing the place was clean. He "
        "has not answered my two emails. What are my options and is small claims court worth "
        "it for this amount?",
        "Landlord kept my full $1,200 deposit for normal wear and ignores me; is small claims "
        "worth it?",
    ),
    (
        "running",
        "Knee pain after increasing mileage",
        "I went from 15 to 30 miles a week over a month while training for my first half "
        "marathon, and now the outside of my right knee hurts after about three miles. It is "
        "fine when walking. The race is in seven weeks. Should I rest completely, keep running "
        "slower, or see a physio first?",
        "Doubled my mileage in a month and now my outer knee hurts on runs, seven weeks "
        "before my first half marathon.",
    ),
    (
        "gardening",
        "Tomato leaves turning yellow from the bottom",
        "My tomato plants on the balcony looked great in June but now the lower leaves are "
        "turning yellow with brown spots and it is slowly moving up the plant. I water every "
        "morning and the pots are quite small. The fruit still looks okay. Is this a disease "
        "or am I over-watering, and should I remove the yellow leaves?",
        "Balcony tomatoes have yellow, spotted lower leaves spreading upward; disease or too "
        "much water?",
    ),
    (
        "travel",
        "Lost my passport two days before flying home",
        "I am in Lisbon on holiday and my passport was stolen with my bag yesterday. My flight "
        "home to Canada leaves on Friday. I have reported it to the police and have a copy of "
        "the report, plus a photo of the passport on my phone. Does anyone know how fast the "
        "embassy can issue an emergency travel document?",
        "Passport stolen in Lisbon two days before my flight to Canada; how fast can the "
        "embassy help?",
    ),
)


def example_row(subreddit: str, title: str, post: str, summary: str) -> dict[str, str]:
    """One row in the trl-lib/tldr layout."""
    return {
        "prompt": f"SUBREDDIT: r/{subreddit}\n\nTITLE: {title}\n\nPOST: {post}\n\nTL;DR:",
        "completion": f" {summary}",
    }


def write_example_data(directory: str | Path) -> Path:
    """Write ``train.jsonl`` (6 posts) and ``test.jsonl`` (4) in the trl-lib/tldr layout into
    ``directory`` and return it: a way to try the environment offline, used by the tests."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rows = [example_row(*post) for post in EXAMPLE_POSTS]
    for split, chunk in (("train", rows[:6]), ("test", rows[6:])):
        with open(directory / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(row) + "\n" for row in chunk)
    return directory
