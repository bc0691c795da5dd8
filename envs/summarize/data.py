"""Procedural Reddit-style posts with a reference TL;DR: the data of ``saw/Summarize-Synth-v0``.

Every item is assembled from hand-written tables, so nothing is downloaded and the data is
deterministic per seed.

A post is written in the first person around one *event* (a debt, a move, a wedding, ...).
The event's sentence carries its key facts as distinctive, copyable tokens: a name
("Marek"), an amount of money ("$450"), a duration ("3 weeks") or a place ("Lisbon"); the
relation ("my roommate") comes from a shared vocabulary and is not a fact. Filler sentences
(context, feelings, a closing question) are mixed in around it.

Difficulties
    ``"short"`` (default): 40-60 words, one event with 2-3 facts, 1-3 filler sentences and
    an optional closing question; word budget 20.
    ``"medium"``: 80-150 words, the event plus a *side note* with 1-2 more facts (3-5 in
    all), 4-9 filler sentences; word budget 32.

Items
    ``{"id", "post", "facts", "reference", "word_budget"}``: ``facts`` are the fact strings
    (each appears verbatim in the post and in the reference, and none is a substring of
    another), ``reference`` is a one-sentence TL;DR (without the "TL;DR:" prefix) of at most
    ``word_budget`` words stating every fact.

Train and test
    Every sentence table (event sentences, side notes, reference phrasings, fillers, closing
    questions) is split in two, ``*_TRAIN`` and ``*_TEST``, which share no template. Names
    and places come from disjoint pools too, and half of the training ones are invented words
    instead (``INVENTED_SHARE``), so a policy learns to copy them rather than to recall a
    list. Relations, amounts and durations are shared. Train items always use the train
    tables; ``test_templates`` chooses the test split's (:data:`TEST_TEMPLATES`):

    * ``"seen"`` (the default): the train tables, so held-out posts differ in their names,
      places, amounts and durations and in how the sentences are combined. This measures
      what the embedded policy can learn, copying unseen values into a summary.
    * ``"seen-events"``: the train event sentences and reference phrasings, in posts padded
      with the test fillers and closing questions.
    * ``"novel"``: every table is the test split's own (new wording throughout), for models
      with a language prior. A ~1M-parameter model trained from scratch on the train posts
      has no vocabulary outside them (its measured quality on these posts is on the docs page
      concepts/environments.md).

Determinism
    Each split draws from its own ``random.Random`` seeded with a string naming the seed, the
    split and the difficulty (string seeds hash with SHA-512, independent of
    ``PYTHONHASHSEED``), so a split does not depend on the other's size.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from saw_bench.core.invented import invented_name

SPLITS = ("train", "test")
DIFFICULTIES = ("short", "medium")
#: How far the test split's sentences are from training (see "Train and test" above).
TEST_TEMPLATES = ("seen", "seen-events", "novel")
#: Share of training names and places that are invented words (see :mod:`saw_bench.core.invented`):
#: a fixed list is memorised, an open supply has to be copied from the post.
INVENTED_SHARE = 0.5


@dataclass(frozen=True)
class Level:
    """The shape of the posts of one difficulty."""

    min_words: int
    max_words: int
    min_fillers: int
    max_fillers: int
    side_note: bool
    word_budget: int


LEVELS = {
    "short": Level(40, 60, 1, 3, side_note=False, word_budget=20),
    "medium": Level(80, 150, 4, 9, side_note=True, word_budget=32),
}

# ------------------------------------------------------------------------ value pools
NAMES_TRAIN = (
    "Marek",
    "Priya",
    "Tomas",
    "Ingrid",
    "Dmitri",
    "Aisha",
    "Callum",
    "Noemi",
    "Rafael",
    "Yuki",
    "Bjorn",
    "Leila",
    "Oskar",
    "Zara",
    "Mateo",
    "Freya",
    "Kwame",
    "Soren",
    "Imani",
    "Lucian",
    "Maren",
    "Tobias",
    "Anouk",
    "Emeka",
    "Svetlana",
    "Idris",
    "Greta",
    "Nikolai",
    "Paloma",
    "Thaddeus",
)
NAMES_TEST = (
    "Henrik",
    "Amara",
    "Vikram",
    "Solveig",
    "Casimir",
    "Nadia",
    "Teodor",
    "Ottilie",
    "Lorcan",
    "Mirela",
    "Kenji",
    "Odile",
    "Ravindra",
    "Astrid",
    "Ferran",
    "Chiara",
    "Bastian",
    "Yasmin",
    "Leander",
    "Lucja",
    "Anselm",
    "Talia",
    "Jarek",
    "Saoirse",
    "Dario",
    "Folasade",
    "Roswitha",
    "Kofi",
    "Benedikt",
    "Matthias",
)
PLACES_TRAIN = (
    "Lisbon",
    "Denver",
    "Krakow",
    "Osaka",
    "Tucson",
    "Bergen",
    "Porto",
    "Calgary",
    "Leeds",
    "Tallinn",
    "Valencia",
    "Adelaide",
    "Boise",
    "Ghent",
    "Nagoya",
    "Cork",
    "Dresden",
    "Halifax",
    "Perth",
    "Ljubljana",
)
PLACES_TEST = (
    "Seville",
    "Tampere",
    "Hobart",
    "Bruges",
    "Winnipeg",
    "Lyon",
    "Gdansk",
    "Fukuoka",
    "Raleigh",
    "Aarhus",
    "Bologna",
    "Galway",
    "Quito",
    "Utrecht",
    "Spokane",
    "Malmo",
    "Graz",
    "Dunedin",
    "Savannah",
    "Cusco",
)
NAMES = {"train": NAMES_TRAIN, "test": NAMES_TEST}
PLACES = {"train": PLACES_TRAIN, "test": PLACES_TEST}
RELATIONS = (
    "roommate",
    "sister",
    "brother",
    "coworker",
    "boss",
    "landlord",
    "best friend",
    "girlfriend",
    "boyfriend",
    "neighbor",
    "cousin",
    "husband",
    "wife",
    "flatmate",
)
DURATION_UNITS = ("days", "weeks", "months")

# ------------------------------------------------------------------------ sentence tables
# Slots: {name} {rel} {money} {dur} {place}; side notes use {name2} {rel2} {money2} {dur2}
# {place2}. Reference phrasings have no final period (added when assembled).


@dataclass(frozen=True)
class Event:
    """One situation: the facts it carries, its post sentences and reference phrasings."""

    slots: tuple[str, ...]  # fact slots among name, money, dur, place (rel is always there)
    post_train: tuple[str, ...]
    post_test: tuple[str, ...]
    ref_train: tuple[str, ...]
    ref_test: tuple[str, ...]


EVENTS = (
    Event(
        ("name", "money", "dur"),
        (
            "My {rel} {name} borrowed {money} from me {dur} ago and has not paid back a cent.",
            "{dur} ago I lent my {rel} {name} {money} to cover a bill, and every time I "
            "bring it up {name} changes the subject.",
        ),
        (
            "Roughly {dur} ago I covered {money} for my {rel} {name} and I have seen none "
            "of it since.",
            "I gave {name}, my {rel}, {money} as a short loan {dur} ago and the money never "
            "came back.",
        ),
        ("my {rel} {name} borrowed {money} {dur} ago and never paid me back",),
        ("{name}, my {rel}, still owes me {money} from a loan {dur} ago",),
    ),
    Event(
        ("name", "place", "dur"),
        (
            "I am moving to {place} in {dur} for work and I still have not told my {rel} {name}.",
            "In {dur} I relocate to {place}, and my {rel} {name} has no idea yet.",
        ),
        (
            "My company is sending me to {place} in {dur}, and I keep putting off telling "
            "my {rel} {name}.",
            "{name}, my {rel}, does not know that I am leaving for {place} in {dur}.",
        ),
        ("I move to {place} in {dur} and have not told my {rel} {name}",),
        ("leaving for {place} in {dur} without telling my {rel} {name} yet",),
    ),
    Event(
        ("name", "place", "money"),
        (
            "My {rel} {name} is getting married in {place} and expects every guest to pay "
            "{money} for the trip.",
            "{name}, my {rel}, invited me to a wedding in {place} that will cost me about {money}.",
        ),
        (
            "The wedding of my {rel} {name} is in {place}, and going would set me back {money}.",
            "I got an invite from my {rel} {name} for a destination wedding in {place} "
            "costing roughly {money}.",
        ),
        ("my {rel} {name} wants me at a wedding in {place} that costs {money}",),
        ("I can not afford {money} for the wedding of my {rel} {name} in {place}",),
    ),
    Event(
        ("name", "dur"),
        (
            "My {rel} {name} stopped answering my texts {dur} ago without any explanation.",
            "It has been {dur} since {name}, my {rel}, last replied to anything I sent.",
        ),
        (
            "For {dur} now my {rel} {name} has completely ignored my calls and messages.",
            "{name} (my {rel}) went silent on me {dur} ago and I do not know why.",
        ),
        ("my {rel} {name} has ignored my texts for {dur}",),
        ("{name}, my {rel}, ghosted me {dur} ago with no reason",),
    ),
    Event(
        ("name", "money"),
        (
            "My {rel} {name} broke my laptop and refuses to pay the {money} repair bill.",
            "{name}, my {rel}, dropped my phone and now says the {money} fix is my problem.",
        ),
        (
            "After my {rel} {name} cracked my TV, the repair quote came to {money} and "
            "{name} will not chip in.",
            "The {money} damage to my bike was caused by my {rel} {name}, who shrugs it off.",
        ),
        ("my {rel} {name} broke my stuff and will not pay the {money} repair",),
        ("{name}, my {rel}, damaged my things and dodges the {money} bill",),
    ),
    Event(
        ("name", "place", "money"),
        (
            "I got a job offer in {place} paying {money} a month, but my {rel} {name} wants "
            "me to stay.",
            "A company in {place} offered me {money} a month, and my {rel} {name} is upset "
            "about it.",
        ),
        (
            "There is an offer from a firm in {place} at {money} monthly, yet my {rel} "
            "{name} begs me to turn it down.",
            "My {rel} {name} does not want me to accept a {money} per month role in {place}.",
        ),
        ("I got a {money} a month job in {place} but my {rel} {name} wants me to stay",),
        ("my {rel} {name} opposes my {money} monthly job offer in {place}",),
    ),
    Event(
        ("name", "place"),
        (
            "My {rel} {name} cancelled our trip to {place} the night before we were "
            "supposed to leave.",
            "{name}, my {rel}, backed out of our {place} vacation at the very last minute.",
        ),
        (
            "We had planned {place} for months, then my {rel} {name} pulled out the day "
            "before the flight.",
            "The day before our {place} trip my {rel} {name} told me the whole thing was off.",
        ),
        ("my {rel} {name} cancelled our {place} trip at the last minute",),
        ("{name}, my {rel}, bailed on our trip to {place} one day before",),
    ),
    Event(
        ("name", "dur"),
        (
            "My {rel} {name} has been playing loud music every night for {dur}.",
            "For the past {dur}, {name}, my {rel}, blasts music until three in the morning.",
        ),
        (
            "Every night for {dur} my {rel} {name} has kept me awake with loud music.",
            "I have not slept properly in {dur} because my {rel} {name} plays music so loud.",
        ),
        ("my {rel} {name} has played loud music every night for {dur}",),
        ("{name}, my {rel}, keeps me up with loud music for {dur} now",),
    ),
)

#: Side notes of medium posts: (slots, post_train, post_test, ref_train, ref_test).
SIDE_NOTES = (
    Event(
        ("name2",),
        ("My {rel2} {name2} thinks I am completely overreacting about all of this.",),
        ("According to my {rel2} {name2}, I am blowing this way out of proportion.",),
        ("my {rel2} {name2} says I overreact",),
        ("{name2} thinks I exaggerate",),
    ),
    Event(
        ("money2",),
        ("On top of that, I have {money2} of rent due at the end of the month.",),
        ("Meanwhile my own rent of {money2} is due very soon.",),
        ("I also owe {money2} in rent",),
        ("my {money2} rent is due",),
    ),
    Event(
        ("place2",),
        ("We first met years ago during a summer in {place2}.",),
        ("Our friendship goes back to school days in {place2}.",),
        ("we met in {place2}",),
        ("we go back to {place2}",),
    ),
    Event(
        ("name2", "money2"),
        ("My {rel2} {name2} already lent me {money2} this year, so I cannot ask again.",),
        ("I still owe {money2} to my {rel2} {name2} from earlier this year.",),
        ("I already owe {name2} {money2}",),
        ("{name2} lent me {money2} already",),
    ),
    Event(
        ("dur2",),
        ("I only started this new job {dur2} ago, so money is tight.",),
        ("Money is tight since I changed jobs {dur2} ago.",),
        ("I started a new job {dur2} ago",),
        ("money is tight after a job change {dur2} ago",),
    ),
)

FILLERS_TRAIN = (
    "I have tried to stay calm about the whole thing.",
    "For context, we have known each other for a long time.",
    "I am not usually the type to post here.",
    "Honestly I feel kind of stupid even writing this out.",
    "My other friends say I should just let it go.",
    "I do not want to start a huge fight over this.",
    "Things have been tense at home ever since.",
    "Sorry for the formatting, I am on mobile.",
    "I keep going back and forth on what is fair here.",
    "It is starting to affect my sleep and my mood.",
    "I tried bringing it up once but it went badly.",
    "Part of me thinks I am overthinking everything.",
    "We used to be really close, which makes this harder.",
    "I have rewritten this post three times already.",
)
FILLERS_TEST = (
    "Throwaway account because people I know read this sub.",
    "Some background first so this makes sense.",
    "I have been stewing on this for a while now.",
    "Nobody in my life seems to get why it bothers me.",
    "I would really like an outside opinion on this one.",
    "I hate conflict so I have mostly stayed quiet.",
    "The atmosphere between us has been awkward lately.",
    "English is not my first language, so bear with me.",
    "I am honestly not sure whether I am the unreasonable one.",
    "It keeps eating at me during work.",
    "When I hinted at it, the conversation went nowhere.",
    "Maybe I am making a big deal out of nothing.",
    "Everyone around us has started to notice the tension.",
    "I almost deleted this draft before posting it.",
)
CLOSERS_TRAIN = ("What should I do?", "How do I handle this?", "Am I wrong to be upset?")
CLOSERS_TEST = ("Any advice?", "Is it fair to be annoyed?", "How would you approach this?")
FILLERS = {"train": FILLERS_TRAIN, "test": FILLERS_TEST}
CLOSERS = {"train": CLOSERS_TRAIN, "test": CLOSERS_TEST}


def _fill(template: str, values: dict[str, str]) -> str:
    text = template.format(**values)
    return text[0].upper() + text[1:]


def _values(rng: random.Random, split: str) -> dict[str, str]:
    """One value per slot; primary and side-note values differ and never nest. In training
    items each name and place is, with probability ``INVENTED_SHARE``, an invented word."""
    while True:
        name, name2 = (_invent_some(rng, split, v) for v in rng.sample(NAMES[split], 2))
        place, place2 = (_invent_some(rng, split, v) for v in rng.sample(PLACES[split], 2))
        if name == name2 or place == place2:
            continue
        rel, rel2 = rng.sample(RELATIONS, 2)
        money, money2 = (f"${rng.randrange(5, 300) * 10}" for _ in range(2))
        dur, dur2 = (f"{rng.randint(2, 11)} {rng.choice(DURATION_UNITS)}" for _ in range(2))
        facts = [name, name2, place, place2, money, money2, dur, dur2]
        lowered = [fact.lower() for fact in facts]
        if not any(a in b for i, a in enumerate(lowered) for j, b in enumerate(lowered) if i != j):
            return {
                "name": name,
                "name2": name2,
                "place": place,
                "place2": place2,
                "rel": rel,
                "rel2": rel2,
                "money": money,
                "money2": money2,
                "dur": dur,
                "dur2": dur2,
            }


def _invent_some(rng: random.Random, split: str, value: str) -> str:
    """``value``, or in training with probability ``INVENTED_SHARE`` an invented name that is
    in no test pool."""
    if split != "train" or rng.random() >= INVENTED_SHARE:
        return value
    while True:
        invented = invented_name(rng)
        if invented not in NAMES_TEST and invented not in PLACES_TEST:
            return invented


def check_test_templates(test_templates: object) -> None:
    """Raise a ValueError naming the choices unless ``test_templates`` is one of them."""
    if test_templates not in TEST_TEMPLATES:
        raise ValueError(
            f"test_templates must be one of {', '.join(TEST_TEMPLATES)}, but got {test_templates!r}"
        )


def table_splits(split: str, test_templates: str) -> tuple[str, str]:
    """Which split's tables (``"train"`` or ``"test"``) an item of ``split`` takes its event
    sentences (with side notes and reference phrasings) and its fillers (with closing
    questions) from, under ``test_templates`` (see :data:`TEST_TEMPLATES`)."""
    check_test_templates(test_templates)
    if split == "train" or test_templates == "seen":
        return "train", "train"
    if test_templates == "seen-events":
        return "train", "test"
    return "test", "test"


def make_item(
    rng: random.Random, split: str, level: Level, index: int, test_templates: str = "seen"
) -> dict[str, Any]:
    """One item of ``split`` at ``level``, drawn until its post length fits the level."""
    event_split, filler_split = table_splits(split, test_templates)
    fillers, closers = FILLERS[filler_split], CLOSERS[filler_split]
    while True:
        values = _values(rng, split)
        event = rng.choice(EVENTS)
        post_table = event.post_train if event_split == "train" else event.post_test
        ref_table = event.ref_train if event_split == "train" else event.ref_test
        key_sentences = [_fill(rng.choice(post_table), values)]
        slots = list(event.slots)
        reference = _fill(rng.choice(ref_table), values)
        if level.side_note:
            note = rng.choice(SIDE_NOTES)
            note_post = note.post_train if event_split == "train" else note.post_test
            note_ref = note.ref_train if event_split == "train" else note.ref_test
            key_sentences.append(_fill(rng.choice(note_post), values))
            slots += note.slots
            reference += ", and " + rng.choice(note_ref).format(**values)
        reference += "."
        n_fillers = rng.randint(level.min_fillers, level.max_fillers)
        sentences = rng.sample(fillers, n_fillers)
        # the event sentence goes after the first filler or first; side notes anywhere after it
        first = rng.randint(0, min(1, len(sentences)))
        sentences.insert(first, key_sentences[0])
        for extra in key_sentences[1:]:
            sentences.insert(rng.randint(first + 1, len(sentences)), extra)
        if rng.random() < 0.5:
            sentences.append(rng.choice(closers))
        post = " ".join(sentences)
        n_words = len(post.split())
        if not level.min_words <= n_words <= level.max_words:
            continue
        if len(reference.split()) > level.word_budget:
            continue
        facts = [values[slot] for slot in slots]
        return {
            "id": f"summarize-{split}-{index:05d}",
            "post": post,
            "facts": facts,
            "reference": reference,
            "word_budget": level.word_budget,
        }


def generate_items(
    split: str, size: int, seed: int, difficulty: str = "short", test_templates: str = "seen"
) -> list[dict]:
    """``size`` items of ``split`` ("train" or "test") at ``difficulty``, deterministic per seed;
    ``test_templates`` chooses the test split's sentence tables (train items ignore it)."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, but got {split!r}")
    if difficulty not in LEVELS:
        raise ValueError(f"difficulty must be one of {DIFFICULTIES}, but got {difficulty!r}")
    check_test_templates(test_templates)
    rng = random.Random(f"summarize-{seed}-{split}-{difficulty}")
    level = LEVELS[difficulty]
    return [make_item(rng, split, level, index, test_templates) for index in range(size)]
