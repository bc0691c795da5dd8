"""Procedural tool-calling dataset: ``saw/ToolCall-Synth-v0`` and its later versions.

Every item is assembled from hand-written tables, so the dataset needs no download, is
deterministic per seed and is small enough for a ~1M-parameter model trained from scratch.

Tables
    ``FUNCTIONS``
        53 function schemas in 9 domains. Parameters are typed string, integer, number,
        boolean or enum (``{"type": "string", "enum": [...]}``); required ones come first.
        Each function has a short purpose (for the think sentence) and action phrasings
        ("get the weather forecast for {city}") with one placeholder per required parameter.
    ``POOLS``
        The values of string, integer and number parameters. Each pool is split once into a
        train part and a disjoint test part (other cities, names, products, dates, amounts...).
        Training requests draw half of their values (``GENERATED_VALUE_SHARE``) from a generator
        instead (see :func:`generated_value`): invented words shaped like a pool member
        ("Velkora", "tamisu rendo", "QXV", "KR5031"), dates of other years, times at other
        minutes, numbers from a wide range; never a test value. A list of 30 train cities can be
        memorised; an unbounded supply of invented ones can only be copied from the request, which
        is the skill the test split (with its unseen values) asks for.
    Request templates
        A *frame* ("Can you {action}?") wraps an action phrasing, optionally followed by
        *mentions* of optional parameters ("for the next {v} days", "with hourly values").
        Two actions are joined by a *connector* (" and then "). Frames, phrasings, mentions,
        connectors and small-talk requests each come as a train set and a disjoint test set;
        the function schemas are shared. Test requests always use the test values, and two
        knobs set how new their wording is (with both at "seen", ~1.5% of test requests, those
        made of enum and boolean values alone, are also training requests).
        ``test_frames``: ``"seen"`` (the default) wraps test requests in the train frames and
        connectors; ``"novel"`` in the test ones (small talk is always the split's own).
        ``test_phrasings``: ``"seen"`` (the default) words each function's clause with the
        train phrasings and mentions; ``"novel"`` uses the test phrasings (new words for known
        functions).
        The defaults measure copying unseen values into calls. What the novel settings do to a
        model trained from scratch, measured, is on the docs page concepts/environments.md.

Items
    Each split has exact shares of three kinds, shuffled:

    * two calls (``multi_call_share``): two different functions, both requests in one query;
    * no call (``no_call_share``): small talk, or the request of a function whose domain (and
      related domains) is absent from the shown tools; the answer is a fixed ``<response>``;
    * one call (the rest).

    ``n_candidates`` schemas are shown: the needed functions plus random distractors, in
    random order. Only the first ``max_parameters`` parameters of a function (required first)
    are shown and used; the request may still state a dropped value, which is then noise.
    The expected call holds every shown required parameter and each shown optional one the
    request mentions (each with probability 0.35). Values are JSON-exact (int, float, bool, an
    enum member) and appear in the query verbatim, booleans as words ("turn off", "without
    video").

Determinism
    Each split draws from its own ``random.Random`` seeded with a string naming the seed and the
    split (string seeds are hashed with SHA-512, independent of ``PYTHONHASHSEED``), so a split
    does not depend on the other's size. Items are generated on first access and cached; the
    cache is left out of pickles. Function schemas are shared between items: treat items as
    read-only.
"""

from __future__ import annotations

import hashlib
import inspect
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Literal

from pydantic import Field

from saw_bench.core.invented import invented_word, look_alike
from saw_bench.core.options import (
    OptionError,
    PositiveInt,
    Share,
    UnknownOptionError,
    checked_call,
)
from saw_bench.core.task import Item
from saw_bench.envs.toolcall.task import ToolCallTask

SPLITS = ("train", "test")
#: Chance that a shown optional parameter is mentioned in the request (and so expected).
OPTIONAL_MENTION_PROBABILITY = 0.35
#: Share of no-call items whose request is small talk rather than another domain's request.
SMALL_TALK_SHARE = 0.5
NO_CALL_RESPONSE = "Sorry, none of the available functions can help with that."
NO_CALL_THINK = "No listed function fits this request, so I reply."
MAX_N_CANDIDATES = 8
MAX_PARAMETERS = 8
#: Share of training values made by :func:`generated_value` rather than drawn from a pool.
GENERATED_VALUE_SHARE = 0.5


# --------------------------------------------------------------------------- tables: types
@dataclass(frozen=True)
class Param:
    """One parameter of a function schema and how requests state its value."""

    name: str
    kind: str  # "string" | "integer" | "number" | "boolean" | "enum"
    description: str
    pool: str = ""  # key of POOLS, for string, integer and number parameters
    choices: tuple[str, ...] = ()  # enum members
    required: bool = True
    words: tuple[str, ...] = ()  # required boolean: the words for true and false
    label: str = ""  # optional boolean: noun phrase used in "with {label}"
    mentions: tuple[str, ...] = ()  # optional non-boolean: (train, test) phrases with {v}

    def schema(self) -> dict[str, Any]:
        if self.kind == "enum":
            return {"type": "string", "description": self.description, "enum": list(self.choices)}
        return {"type": self.kind, "description": self.description}


@dataclass(frozen=True)
class Function:
    """A function schema with its domain, purpose and (train, test) action phrasings."""

    name: str
    domain: str
    description: str
    purpose: str
    params: tuple[Param, ...]
    phrasings: tuple[tuple[str, ...], tuple[str, ...]]


def _req(name: str, kind: str, description: str, source: str) -> Param:
    """A required parameter; ``source`` is a pool name, enum members or boolean words."""
    if kind == "enum":
        return Param(name, kind, description, choices=tuple(source.split()))
    if kind == "boolean":
        return Param(name, kind, description, words=tuple(source.split()))
    return Param(name, kind, description, pool=source)


def _opt(name: str, kind: str, description: str, source: str, *mentions: str) -> Param:
    """An optional parameter; for a boolean ``source`` is the label used in mentions."""
    if kind == "boolean":
        return Param(name, kind, description, required=False, label=source)
    return replace(_req(name, kind, description, source), required=False, mentions=mentions)


def _fn(
    domain: str,
    name: str,
    description: str,
    purpose: str,
    params: Sequence[Param],
    train: Sequence[str],
    test: Sequence[str],
) -> Function:
    ordered = tuple(p for p in params if p.required) + tuple(p for p in params if not p.required)
    return Function(name, domain, description, purpose, ordered, (tuple(train), tuple(test)))


# --------------------------------------------------------------------------- tables: values
def _words(train: str, test: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(train.split(", ")), tuple(test.split(", "))


def _every_third(values: Sequence[Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Split a numeric range: every third value goes to test, the others to train."""
    return (
        tuple(v for i, v in enumerate(values) if i % 3 != 2),
        tuple(v for i, v in enumerate(values) if i % 3 == 2),
    )


_PEOPLE = _words(
    "Anna, Ben, Carla, David, Emma, Felix, Grace, Henry, Irene, Jack, Karen, Leo, Maria, Nina, "
    "Oscar, Paula, Quinn, Rosa, Sam, Tina, Umar, Vera, Walter, Yara, Zoe, Liam, Mia, Noah",
    "Akira, Bongani, Chiara, Dmitri, Esi, Farida, Gustavo, Hana, Ifeoma, Joaquin, Kenji, Lucia, "
    "Mateo, Nadia, Priya, Ravi, Sione, Tomasz",
)
POOLS: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {
    "city": _words(
        "Oslo, Paris, Madrid, Lisbon, Berlin, Vienna, Prague, Dublin, Athens, Rome, Warsaw, "
        "Budapest, Helsinki, Stockholm, Copenhagen, Amsterdam, Brussels, Zurich, Munich, Milan, "
        "Porto, Seville, Krakow, Riga, Boston, Chicago, Denver, Seattle, Austin, Toronto",
        "Tokyo, Osaka, Seoul, Lima, Bogota, Nairobi, Cairo, Sydney, Perth, Auckland, Mumbai, "
        "Delhi, Jakarta, Manila, Hanoi, Santiago, Quito, Accra",
    ),
    "country": _words(
        "France, Spain, Italy, Germany, Canada, Mexico, Brazil, Egypt, Turkey, Norway, Greece",
        "Japan, Kenya, Peru, Vietnam, Chile, Morocco, Thailand, Ghana, Nepal, Iceland",
    ),
    "person": _PEOPLE,
    "email": (
        tuple(f"{name.lower()}@example.com" for name in _PEOPLE[0]),
        tuple(f"{name.lower()}@example.com" for name in _PEOPLE[1]),
    ),
    "event": _words(
        "team meeting, dentist appointment, yoga class, project review, book club, piano lesson, "
        "sprint planning, family dinner, doctor visit, gym session",
        "budget review, haircut, parent evening, code review, vet visit, tax meeting",
    ),
    "chore": _words(
        "water the plants, buy milk, pay rent, call mom, take out the trash, walk the dog, "
        "clean the fridge",
        "renew my passport, feed the cat, return library books, pick up dry cleaning",
    ),
    "ticker": _words(
        "AAPL, MSFT, AMZN, GOOG, TSLA, NVDA, META, NFLX, INTC, IBM, ORCL, ADBE",
        "SAP, SONY, BABA, SHOP, SPOT, UBER, ABNB, PYPL",
    ),
    "currency": _words("USD, EUR, GBP, JPY, CAD, AUD", "CHF, SEK, NOK, INR, BRL, MXN"),
    "flight": (
        tuple(f"{p}{n}" for p in ("LH", "BA", "AF", "KL", "IB") for n in (102, 245, 407, 836)),
        tuple(f"{p}{n}" for p in ("QF", "NH", "SQ", "EK") for n in (118, 350, 592, 771)),
    ),
    "product": _words(
        "desk lamp, yoga mat, coffee grinder, water bottle, phone case, office chair, rain jacket, "
        "running shoes, wool socks, laptop stand, tea kettle, backpack, blender, air fryer, "
        "desk fan, cutting board, frying pan, bike helmet, sleeping bag, wall clock",
        "standing desk, espresso machine, hiking boots, electric toothbrush, gaming mouse, "
        "pressure cooker, travel pillow, smart watch, rice cooker, camera bag",
    ),
    "order": (
        tuple(f"{c}{n}" for c in "ABCDEFGH" for n in (1042, 2318, 3877, 5163, 6794)),
        tuple(f"{c}{n}" for c in "PRSTUW" for n in (1509, 4236, 7381, 8815)),
    ),
    "coupon": (
        tuple(f"{w}{n}" for w in ("SAVE", "SPRING") for n in (5, 10, 15, 20, 25)),
        tuple(f"{w}{n}" for w in ("DEAL", "WINTER") for n in (12, 30, 40)),
    ),
    "message": _words(
        "running late, see you soon, call me back, on my way, happy birthday, dinner is ready, "
        "the meeting moved, thanks a lot, good morning, I am home",
        "good luck today, landed safely, running ten minutes behind, miss you, "
        "congrats on the new job, the package arrived",
    ),
    "subject": _words(
        "weekly report, invoice, trip plans, party invite, meeting notes, holiday schedule",
        "quarterly numbers, visa documents, lease renewal, team offsite",
    ),
    "room": _words(
        "kitchen, living room, bedroom, bathroom, hallway, office, dining room",
        "attic, basement, nursery, patio, laundry room, guest room",
    ),
    "artist": _words(
        "Adele, Coldplay, Drake, Shakira, Queen, Abba, Beyonce, Eminem, Metallica, Rihanna, Muse, "
        "Blur, Oasis, Madonna, Prince",
        "Bjork, Sade, Fela Kuti, Rosalia, Stromae, Tame Impala, Burna Boy, Angele, Khruangbin",
    ),
    "song": _words(
        "Yellow, Hello, Imagine, Halo, Roar, Thriller, Wonderwall, Believer, Clocks, Umbrella, "
        "Let It Be, Hey Jude, Toxic, Royals",
        "Hurt, Creep, Jolene, Vogue, Zombie, Africa, Faded, Dreams, Bloom",
    ),
    "playlist": _words(
        "Morning Run, Focus Mix, Road Trip, Chill Evening, Workout, Study Beats, Party Starters",
        "Sunday Brunch, Rainy Day, Night Drive, Dinner Party, Deep Sleep",
    ),
    "cuisine": _words(
        "italian, thai, mexican, indian, greek, french, chinese",
        "ethiopian, korean, peruvian, lebanese, turkish",
    ),
    "dish": _words(
        "pancakes, lasagna, tomato soup, fried rice, banana bread, chicken curry, caesar salad, "
        "apple pie",
        "ramen, paella, falafel, goulash, pad thai, shakshuka",
    ),
    "restaurant": _words(
        "Luigi's, The Green Fork, Blue Lotus, Casa Rosa, Harbor Grill, Golden Dragon",
        "Sakura House, El Fogon, The Copper Pot, Cedar Garden, Nomad Kitchen",
    ),
    "date": (
        tuple(f"2025-{m:02d}-{d:02d}" for m in range(1, 7) for d in range(1, 29)),
        tuple(f"2025-{m:02d}-{d:02d}" for m in range(7, 13) for d in range(1, 29)),
    ),
    "time": (
        tuple(f"{h:02d}:{m}" for h in range(7, 21) for m in ("00", "30")),
        tuple(f"{h:02d}:{m}" for h in range(7, 21) for m in ("15", "45")),
    ),
    "days": _every_third(range(1, 15)),
    "people": _every_third(range(1, 11)),
    "quantity": _every_third(range(1, 13)),
    "limit": _every_third(range(3, 21)),
    "minutes": _every_third(range(15, 181, 15)),
    "percent": _every_third(range(10, 101, 10)),
    "volume": _every_third(range(0, 101, 5)),
    "stars": _every_third(range(1, 6)),
    "grams": _every_third(range(50, 501, 50)),
    "amount": _every_third([round(k + c, 2) for k in range(5, 400, 11) for c in (0.25, 0.5, 0.75)]),
    "price": _every_third([round(k + 0.99, 2) for k in range(4, 300, 5)]),
    "temperature": _every_third([k + 0.5 for k in range(15, 28)]),
}

# --------------------------------------------------------------------------- tables: functions
# fmt: off
FUNCTIONS: tuple[Function, ...] = (
    # weather
    _fn("weather", "get_forecast", "Weather forecast for a city.", "the weather forecast",
        [_req("city", "string", "City name", "city"),
         _opt("days", "integer", "Days ahead", "days", "for the next {v} days",
              "covering {v} days"),
         _opt("units", "enum", "Unit system", "metric imperial", "in {v} units",
              "using {v} units")],
        ["get the weather forecast for {city}", "tell me the forecast in {city}"],
        ["look up what the weather will be in {city}"]),
    _fn("weather", "get_air_quality", "Air quality in a city.", "air quality data",
        [_req("city", "string", "City name", "city"),
         _opt("pollutant", "enum", "Pollutant", "pm25 ozone no2", "for {v}", "measuring {v}")],
        ["check the air quality in {city}", "tell me how clean the air is in {city}"],
        ["report the pollution level for {city}"]),
    _fn("weather", "get_uv_index", "UV index in a city.", "the UV index",
        [_req("city", "string", "City name", "city"),
         _opt("hourly", "boolean", "Hourly values", "hourly values")],
        ["get the UV index for {city}", "tell me how strong the sun is in {city}"],
        ["find the sunburn risk level in {city}"]),
    _fn("weather", "get_sunrise", "Sunrise time in a city.", "the sunrise time",
        [_req("city", "string", "City name", "city"),
         _opt("date", "string", "Date YYYY-MM-DD", "date", "on {v}", "for the day {v}")],
        ["tell me when the sun rises in {city}", "get the sunrise time for {city}"],
        ["find out what time dawn is in {city}"]),
    _fn("weather", "set_weather_alert", "Alert for bad weather.", "a weather alert",
        [_req("city", "string", "City name", "city"),
         _req("condition", "enum", "Condition", "rain snow storm heat"),
         _opt("sms", "boolean", "Also send SMS", "a text message")],
        ["set a {condition} alert for {city}", "warn me about {condition} in {city}"],
        ["notify me whenever {condition} hits {city}"]),
    # calendar
    _fn("calendar", "create_event", "Add a calendar event.", "a new calendar event",
        [_req("title", "string", "Event title", "event"),
         _req("date", "string", "Date YYYY-MM-DD", "date"),
         _opt("time", "string", "Start HH:MM", "time", "at {v}", "starting at {v}")],
        ["add {title} to my calendar on {date}", "schedule {title} for {date}"],
        ["put {title} in my agenda on {date}"]),
    _fn("calendar", "list_events", "List events of a day.", "their events",
        [_req("date", "string", "Date YYYY-MM-DD", "date"),
         _opt("limit", "integer", "Max events", "limit", "limited to {v} events",
              "showing no more than {v} events")],
        ["show my events on {date}", "list what is on my calendar for {date}"],
        ["tell me what I have planned on {date}"]),
    _fn("calendar", "cancel_event", "Cancel a calendar event.", "an event cancelled",
        [_req("title", "string", "Event title", "event"),
         _req("date", "string", "Date YYYY-MM-DD", "date")],
        ["cancel {title} on {date}", "remove {title} from my calendar on {date}"],
        ["call off the {title} on {date}"]),
    _fn("calendar", "set_reminder", "Set a reminder.", "a reminder",
        [_req("task", "string", "What to do", "chore"),
         _req("time", "string", "Time HH:MM", "time"),
         _opt("repeat", "enum", "Repetition", "daily weekly monthly", "repeating {v}",
              "on a {v} basis")],
        ["remind me to {task} at {time}", "set a reminder to {task} at {time}"],
        ["make sure I remember to {task} at {time}"]),
    _fn("calendar", "invite_guest", "Invite someone to an event.", "a guest invited",
        [_req("title", "string", "Event title", "event"),
         _req("email", "string", "Guest email", "email"),
         _opt("notify", "boolean", "Send notice", "a notification")],
        ["invite {email} to {title}", "add {email} as a guest to {title}"],
        ["send {email} an invitation for {title}"]),
    _fn("calendar", "find_free_slot", "Find free time in a day.", "a free time slot",
        [_req("date", "string", "Date YYYY-MM-DD", "date"),
         _req("duration_minutes", "integer", "Length in minutes", "minutes")],
        ["find a free {duration_minutes} minute slot on {date}",
         "check when I have {duration_minutes} free minutes on {date}"],
        ["look for an open {duration_minutes} minute gap on {date}"]),
    # finance
    _fn("finance", "get_stock_price", "Current stock price.", "a stock price",
        [_req("ticker", "string", "Ticker symbol", "ticker"),
         _opt("exchange", "enum", "Exchange", "nasdaq nyse", "on the {v}", "listed on {v}")],
        ["get the stock price of {ticker}", "tell me what {ticker} is trading at"],
        ["look up the share price for {ticker}"]),
    _fn("finance", "convert_currency", "Convert between currencies.", "a currency conversion",
        [_req("amount", "number", "Amount", "amount"),
         _req("from_currency", "string", "Source code", "currency"),
         _req("to_currency", "string", "Target code", "currency")],
        ["convert {amount} {from_currency} to {to_currency}",
         "tell me how much {amount} {from_currency} is in {to_currency}"],
        ["change {amount} {from_currency} into {to_currency}"]),
    _fn("finance", "transfer_money", "Move money between accounts.", "a money transfer",
        [_req("amount", "number", "Amount", "amount"),
         _req("from_account", "enum", "Source account", "checking savings credit"),
         _req("to_account", "enum", "Target account", "checking savings credit"),
         _opt("instant", "boolean", "Instant transfer", "instant processing")],
        ["move {amount} from {from_account} to {to_account}",
         "transfer {amount} from my {from_account} account to my {to_account} account"],
        ["shift {amount} out of {from_account} into {to_account}"]),
    _fn("finance", "get_balance", "Balance of an account.", "an account balance",
        [_req("account", "enum", "Account", "checking savings credit"),
         _opt("include_pending", "boolean", "Count pending", "pending transactions")],
        ["show the balance of my {account} account", "tell me how much is in my {account} account"],
        ["check what my {account} account holds"]),
    _fn("finance", "pay_bill", "Pay a utility bill.", "a bill paid",
        [_req("utility", "enum", "Utility", "electricity water gas internet phone"),
         _req("amount", "number", "Amount", "amount"),
         _opt("date", "string", "Date YYYY-MM-DD", "date", "on {v}", "scheduled for {v}")],
        ["pay my {utility} bill of {amount}", "pay {amount} for the {utility} bill"],
        ["settle the {utility} bill for {amount}"]),
    _fn("finance", "set_budget", "Set a spending budget.", "a spending budget",
        [_req("category", "enum", "Category", "groceries dining transport entertainment"),
         _req("amount", "number", "Limit", "amount"),
         _opt("period", "enum", "Period", "weekly monthly", "for a {v} period", "as a {v} limit")],
        ["set my {category} budget to {amount}", "limit {category} spending to {amount}"],
        ["cap my {category} expenses at {amount}"]),
    # travel
    _fn("travel", "search_flights", "Search flights.", "flight options",
        [_req("origin", "string", "From city", "city"),
         _req("destination", "string", "To city", "city"),
         _req("date", "string", "Date YYYY-MM-DD", "date"),
         _opt("cabin", "enum", "Cabin", "economy business first", "in {v} class", "flying {v}")],
        ["find flights from {origin} to {destination} on {date}",
         "search for a flight from {origin} to {destination} on {date}"],
        ["look for planes leaving {origin} for {destination} on {date}"]),
    _fn("travel", "book_hotel", "Book a hotel room.", "a hotel booking",
        [_req("city", "string", "City name", "city"),
         _req("check_in", "string", "Date YYYY-MM-DD", "date"),
         _req("nights", "integer", "Nights", "days"),
         _opt("guests", "integer", "Guests", "people", "for {v} guests", "with {v} people")],
        ["book a hotel in {city} from {check_in} for {nights} nights",
         "reserve a room in {city} on {check_in} for {nights} nights"],
        ["get me accommodation in {city} starting {check_in} for {nights} nights"]),
    _fn("travel", "rent_car", "Rent a car.", "a rental car",
        [_req("city", "string", "City name", "city"),
         _req("pickup_date", "string", "Date YYYY-MM-DD", "date"),
         _req("days", "integer", "Rental days", "days"),
         _opt("car_type", "enum", "Car type", "compact suv van", "of type {v}", "choosing a {v}")],
        ["rent a car in {city} on {pickup_date} for {days} days",
         "hire a car in {city} from {pickup_date} for {days} days"],
        ["arrange a rental vehicle in {city} starting {pickup_date} for {days} days"]),
    _fn("travel", "get_visa_rules", "Visa rules for a trip.", "visa rules",
        [_req("passport_country", "string", "Passport country", "country"),
         _req("destination_country", "string", "Destination", "country")],
        ["check visa rules for a {passport_country} passport going to {destination_country}",
         "tell me if a {passport_country} passport needs a visa for {destination_country}"],
        ["find the entry requirements for {destination_country} with a {passport_country} "
         "passport"]),
    _fn("travel", "get_flight_status", "Status of a flight.", "a flight status",
        [_req("flight_number", "string", "Flight number", "flight")],
        ["check the status of flight {flight_number}",
         "tell me if flight {flight_number} is on time"],
        ["see whether flight {flight_number} is delayed"]),
    _fn("travel", "find_attractions", "Sights in a city.", "attractions to visit",
        [_req("city", "string", "City name", "city"),
         _opt("category", "enum", "Kind of sight", "museum park landmark", "of type {v}",
              "in the {v} category"),
         _opt("limit", "integer", "Max results", "limit", "showing {v} results",
              "with {v} suggestions")],
        ["find things to do in {city}", "suggest attractions in {city}"],
        ["recommend places to visit in {city}"]),
    # shopping
    _fn("shopping", "search_products", "Search the shop.", "a product search",
        [_req("query", "string", "Search text", "product"),
         _opt("max_price", "number", "Price cap", "price", "under {v}", "cheaper than {v}"),
         _opt("sort", "enum", "Sort order", "price rating newest", "sorted by {v}",
              "ordered by {v}")],
        ["search the shop for {query}", "find {query} in the store"],
        ["browse the catalog for {query}"]),
    _fn("shopping", "add_to_cart", "Add a product to the cart.", "items in the cart",
        [_req("product", "string", "Product", "product"),
         _req("quantity", "integer", "How many", "quantity")],
        ["add {quantity} of the {product} to my cart",
         "put {quantity} units of {product} in my basket"],
        ["place {quantity} pieces of {product} into my shopping cart"]),
    _fn("shopping", "track_order", "Track an order.", "an order tracked",
        [_req("order_id", "string", "Order id", "order")],
        ["track order {order_id}", "tell me where my order {order_id} is"],
        ["find the delivery status of order {order_id}"]),
    _fn("shopping", "return_item", "Return an order.", "a return started",
        [_req("order_id", "string", "Order id", "order"),
         _req("reason", "enum", "Reason", "damaged defective unwanted late")],
        ["start a return for order {order_id} with reason {reason}",
         "return order {order_id} because it is {reason}"],
        ["send back order {order_id} citing {reason}"]),
    _fn("shopping", "apply_coupon", "Apply a coupon code.", "a coupon applied",
        [_req("code", "string", "Coupon code", "coupon")],
        ["apply the coupon {code}", "use discount code {code} on my cart"],
        ["redeem promo code {code}"]),
    _fn("shopping", "write_review", "Rate a product.", "a product review",
        [_req("product", "string", "Product", "product"),
         _req("rating", "integer", "Stars 1-5", "stars")],
        ["rate the {product} {rating} stars", "give the {product} a {rating} star review"],
        ["leave a {rating} star rating for the {product}"]),
    _fn("shopping", "check_stock", "Check product stock.", "stock availability",
        [_req("product", "string", "Product", "product"),
         _opt("city", "string", "Store city", "city", "in {v}", "at the {v} store")],
        ["check if {product} is in stock", "see whether {product} is available"],
        ["find out if the store has {product} left"]),
    # messaging
    _fn("messaging", "send_message", "Send a text message.", "a message sent",
        [_req("recipient", "string", "Contact name", "person"),
         _req("text", "string", "Message", "message"),
         _opt("urgent", "boolean", "High priority", "high priority")],
        ['send {recipient} a message saying "{text}"', 'text {recipient} "{text}"'],
        ['drop {recipient} a note that reads "{text}"']),
    _fn("messaging", "send_email", "Send an email.", "an email sent",
        [_req("to", "string", "Address", "email"),
         _req("subject", "string", "Subject", "subject"),
         _opt("cc", "string", "Copy address", "email", "copying {v}", "with {v} in cc")],
        ['email {to} with the subject "{subject}"', 'send an email to {to} about "{subject}"'],
        ['write to {to} with "{subject}" as the subject line']),
    _fn("messaging", "read_messages", "Read a chat.", "their messages",
        [_req("contact", "string", "Contact name", "person"),
         _opt("unread_only", "boolean", "Only unread", "the unread filter")],
        ["read my messages from {contact}", "show the chat with {contact}"],
        ["open the conversation with {contact}"]),
    _fn("messaging", "block_contact", "Block a contact.", "a contact blocked",
        [_req("contact", "string", "Contact name", "person"),
         _opt("report", "boolean", "Report spam", "a spam report")],
        ["block {contact}", "stop {contact} from messaging me"],
        ["prevent {contact} from contacting me"]),
    _fn("messaging", "set_status", "Set chat status.", "a new chat status",
        [_req("status", "enum", "Status", "available busy away offline"),
         _opt("minutes", "integer", "Duration", "minutes", "for {v} minutes",
              "lasting {v} minutes")],
        ["set my status to {status}", "change my chat status to {status}"],
        ["mark me as {status}"]),
    _fn("messaging", "call_contact", "Phone a contact.", "a phone call",
        [_req("contact", "string", "Contact name", "person"),
         _opt("video", "boolean", "Video call", "video")],
        ["call {contact}", "phone {contact}"],
        ["ring {contact}"]),
    # smart home
    _fn("smart_home", "set_thermostat", "Set the heating.", "a new temperature",
        [_req("temperature", "number", "Degrees C", "temperature"),
         _opt("room", "string", "Room", "room", "in the {v}", "for the {v}")],
        ["set the thermostat to {temperature} degrees", "heat the house to {temperature} degrees"],
        ["adjust the heating to {temperature} degrees"]),
    _fn("smart_home", "switch_lights", "Switch lights.", "the lights switched",
        [_req("room", "string", "Room", "room"),
         _req("on", "boolean", "On or off", "on off"),
         _opt("brightness", "integer", "Percent", "percent", "at {v} percent",
              "dimmed to {v} percent")],
        ["turn {on} the lights in the {room}", "switch {on} the {room} lights"],
        ["flip the {room} lights {on}"]),
    _fn("smart_home", "lock_door", "Lock or unlock a door.", "a door lock changed",
        [_req("door", "enum", "Door", "front back garage"),
         _req("locked", "boolean", "Lock state", "lock unlock")],
        ["{locked} the {door} door", "make sure you {locked} the {door} door"],
        ["go ahead and {locked} the {door} door"]),
    _fn("smart_home", "start_vacuum", "Start the robot vacuum.", "the vacuum started",
        [_req("room", "string", "Room", "room"),
         _opt("mode", "enum", "Power", "quiet standard turbo", "in {v} mode", "using {v} mode")],
        ["start the vacuum in the {room}", "vacuum the {room}"],
        ["get the robot cleaner going in the {room}"]),
    _fn("smart_home", "set_alarm_system", "Arm the house alarm.", "the alarm changed",
        [_req("armed", "boolean", "Armed", "arm disarm"),
         _opt("mode", "enum", "Mode", "home away", "in {v} mode", "set to {v} mode")],
        ["{armed} the alarm system", "{armed} the security system"],
        ["go ahead and {armed} the house alarm"]),
    _fn("smart_home", "get_energy_usage", "Energy use report.", "energy usage",
        [_req("period", "enum", "Period", "day week month"),
         _opt("by_device", "boolean", "Per device", "a device breakdown")],
        ["show my energy usage for the last {period}",
         "tell me how much power I used this {period}"],
        ["report electricity consumption over the past {period}"]),
    # music
    _fn("music", "play_song", "Play a song.", "a song played",
        [_req("song", "string", "Song title", "song"),
         _opt("artist", "string", "Artist", "artist", "by {v}", "performed by {v}")],
        ['play "{song}"', 'put on the song "{song}"'],
        ['start the track "{song}"']),
    _fn("music", "play_artist", "Play an artist.", "music by an artist",
        [_req("artist", "string", "Artist", "artist"),
         _opt("shuffle", "boolean", "Shuffle", "shuffle")],
        ["play some {artist}", "play music by {artist}"],
        ["queue up tracks from {artist}"]),
    _fn("music", "create_playlist", "Create a playlist.", "a new playlist",
        [_req("name", "string", "Playlist name", "playlist"),
         _opt("public", "boolean", "Public", "public sharing")],
        ['create a playlist called "{name}"', 'make a new playlist named "{name}"'],
        ['start a fresh playlist titled "{name}"']),
    _fn("music", "add_to_playlist", "Add a song to a playlist.", "a playlist extended",
        [_req("song", "string", "Song title", "song"),
         _req("playlist", "string", "Playlist name", "playlist")],
        ['add "{song}" to my "{playlist}" playlist', 'put "{song}" on the "{playlist}" playlist'],
        ['save "{song}" into the "{playlist}" playlist']),
    _fn("music", "set_volume", "Set speaker volume.", "a new volume",
        [_req("level", "integer", "Percent", "volume")],
        ["set the volume to {level}", "change the volume to {level} percent"],
        ["make the speaker volume {level}"]),
    _fn("music", "recommend_music", "Music suggestions.", "music recommendations",
        [_req("genre", "enum", "Genre", "pop rock jazz classical hiphop"),
         _opt("limit", "integer", "How many", "limit", "with {v} picks", "listing {v} songs")],
        ["recommend some {genre} music", "suggest {genre} songs"],
        ["give me some {genre} ideas"]),
    # food
    _fn("food", "find_restaurant", "Find a restaurant.", "a restaurant",
        [_req("city", "string", "City name", "city"),
         _req("cuisine", "string", "Cuisine", "cuisine"),
         _opt("price", "enum", "Price level", "cheap moderate expensive", "that is {v}",
              "in the {v} range")],
        ["find a {cuisine} restaurant in {city}", "look for {cuisine} food in {city}"],
        ["recommend somewhere to eat {cuisine} in {city}"]),
    _fn("food", "get_recipe", "Find a recipe.", "a recipe",
        [_req("dish", "string", "Dish", "dish"),
         _opt("servings", "integer", "Servings", "people", "for {v} servings",
              "serving {v} people")],
        ["find a recipe for {dish}", "show me how to cook {dish}"],
        ["give me cooking instructions for {dish}"]),
    _fn("food", "order_food", "Order takeaway food.", "a food order",
        [_req("dish", "string", "Dish", "dish"),
         _req("quantity", "integer", "Portions", "quantity"),
         _opt("delivery", "boolean", "Deliver", "delivery")],
        ["order {quantity} portions of {dish}",
         "get me {quantity} servings of {dish} from the takeaway"],
        ["buy {quantity} plates of {dish} to eat"]),
    _fn("food", "book_table", "Reserve a table.", "a table booking",
        [_req("restaurant", "string", "Restaurant", "restaurant"),
         _req("guests", "integer", "Guests", "people"),
         _req("time", "string", "Time HH:MM", "time")],
        ["book a table at {restaurant} for {guests} at {time}",
         "reserve a table for {guests} at {restaurant} at {time}"],
        ["hold a table for {guests} people at {restaurant} around {time}"]),
    _fn("food", "get_nutrition", "Nutrition facts of a dish.", "nutrition facts",
        [_req("dish", "string", "Dish", "dish"),
         _opt("grams", "integer", "Portion grams", "grams", "per {v} grams",
              "for a {v} gram portion")],
        ["tell me the calories in {dish}", "get nutrition facts for {dish}"],
        ["show the nutritional values of {dish}"]),
)
# fmt: on

#: Domains whose functions could plausibly serve each other's requests: a no-call item built
#: from a request of one domain shows none of them.
RELATED_DOMAINS: dict[str, frozenset[str]] = {
    "calendar": frozenset({"messaging"}),
    "messaging": frozenset({"calendar"}),
    "food": frozenset({"shopping"}),
    "shopping": frozenset({"food"}),
}

# --------------------------------------------------------------------------- tables: templates
FRAMES = (
    (
        "{action}.",
        "Please {action}.",
        "Can you {action}?",
        "Could you {action} for me?",
        "I want you to {action}.",
        "Go ahead and {action}.",
        "Quick one: {action}.",
        "I would like you to {action}.",
        "Time to {action}.",
        "Could you please {action}?",
        "Let's {action}.",
        "My request: {action}.",
        "Can you {action} right now?",
        "Okay, {action}.",
        "Please {action} when you can.",
    ),
    (
        "Would you {action}?",
        "I need you to {action}.",
        "Help me out and {action}.",
        "Hey, {action}, thanks.",
    ),
)
CONNECTORS = ((" and ", " and then ", ", then "), (" and also ", ", and after that ", ", plus "))
BOOLEAN_MENTIONS = (("with {label}", "without {label}"), ("including {label}", "excluding {label}"))
SMALL_TALK = (
    (
        "tell me a joke",
        "write a short poem about autumn",
        "explain how rainbows form",
        "tell me a fun fact about octopuses",
        "explain what a black hole is",
        "give me a tip for sleeping better",
    ),
    (
        "tell me a riddle",
        "write a haiku about the ocean",
        "explain why the sky is blue",
        "describe how bees make honey",
        "share a tongue twister",
    ),
)


# --------------------------------------------------------------------------- the task
#: Whether test requests are framed and worded as in training ("seen") or not ("novel").
SeenOrNovel = Literal["seen", "novel"]
Candidates = Annotated[int, Field(ge=1, le=MAX_N_CANDIDATES)]
Parameters = Annotated[int, Field(ge=1, le=MAX_PARAMETERS)]


def _render(param: Param, value: Any) -> str:
    """How a value is written in a request: verbatim, booleans as the parameter's words."""
    if param.kind == "boolean":
        return param.words[0] if value else param.words[1]
    return str(value)


class ToolCallSynthTask(ToolCallTask):
    """Procedural tool calling in ToolRL's output format (see the module docstring).

    Difficulty knobs: ``n_candidates`` schemas shown per prompt (needed ones plus
    distractors), ``max_parameters`` shown per schema, ``multi_call_share`` of two-call items
    and ``no_call_share`` of items where no function fits; ``test_frames`` and
    ``test_phrasings`` ("seen" or "novel") set whether test requests are framed and word
    functions as in training. Other keyword arguments
    (``brevity``, ``think_target_words``, ...) go to :class:`ToolCallTask`.
    """

    @checked_call  # each keyword is checked against its type before the body runs
    def __init__(
        self,
        *,
        seed: int = 0,
        train_size: PositiveInt = 2000,
        test_size: PositiveInt = 200,
        n_candidates: Candidates = 3,
        max_parameters: Parameters = 4,
        multi_call_share: Share = 0.2,
        no_call_share: Share = 0.15,
        test_phrasings: SeenOrNovel = "seen",
        test_frames: SeenOrNovel = "seen",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("prompt_style", "compact")
        passed_on = list(inspect.signature(ToolCallTask.__init__).parameters)[1:]  # not self
        unknown = set(kwargs) - set(passed_on)
        if unknown:  # the message checked_call gives for any other task's unknown options
            own = inspect.signature(ToolCallSynthTask.__init__).parameters
            valid = [name for name, p in own.items() if p.kind is p.KEYWORD_ONLY]
            raise UnknownOptionError(unknown, [*valid, *passed_on])
        super().__init__(**kwargs)
        self.seed, self.train_size, self.test_size = seed, train_size, test_size
        self.n_candidates, self.max_parameters = n_candidates, max_parameters
        self.multi_call_share, self.no_call_share = float(multi_call_share), float(no_call_share)
        if self.multi_call_share + self.no_call_share > 1:
            raise OptionError(
                "multi_call_share + no_call_share must be at most 1, but got "
                f"{multi_call_share} + {no_call_share}"
            )
        if self.n_candidates < 2 and self.multi_call_share > 0:
            raise OptionError(
                "multi_call_share must be 0 when n_candidates is 1 (a two-call item shows two "
                f"functions), but got {multi_call_share}"
            )
        self.test_phrasings, self.test_frames = test_phrasings, test_frames
        self._items: dict[str, list[Item]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_items"] = {}  # regenerated on demand, identically
        return state

    def split(self, name: str) -> list[Item]:
        self.check_split_name(name)
        if name not in self._items:
            self._items[name] = self._generate(name)
        return list(self._items[name])

    # ------------------------------------------------------------------ generation
    def frame_side(self, side: int) -> int:
        """The table side of frames and connectors (see ``test_frames``)."""
        return side if self.test_frames == "novel" else 0

    def shown_params(self, function: Function) -> tuple[Param, ...]:
        """The parameters shown in the schema and used in calls (required ones first)."""
        return function.params[: self.max_parameters]

    def schema(self, function: Function) -> dict[str, Any]:
        """The JSON schema of a function as shown in prompts."""
        shown = self.shown_params(function)
        return {
            "name": function.name,
            "description": function.description,
            "parameters": {
                "type": "object",
                "properties": {param.name: param.schema() for param in shown},
                "required": [param.name for param in shown if param.required],
            },
        }

    def _generate(self, split: str) -> list[Item]:
        rng = random.Random(f"saw/ToolCall-Synth/seed={self.seed}/{split}")
        size = self.train_size if split == "train" else self.test_size
        n_two = round(size * self.multi_call_share)
        n_none = min(size - n_two, round(size * self.no_call_share))
        call_counts = [2] * n_two + [0] * n_none + [1] * (size - n_two - n_none)
        rng.shuffle(call_counts)
        schemas = {function.name: self.schema(function) for function in FUNCTIONS}
        side = SPLITS.index(split)
        items = []
        for index, n_calls in enumerate(call_counts):
            if n_calls == 0:
                query, tools, calls, think = self._no_call_request(rng, side)
            else:
                query, tools, calls, think = self._call_request(rng, side, n_calls)
            items.append(
                {
                    "id": f"synth-{split}-{index:05d}",
                    "query": query[0].upper() + query[1:],
                    "tools": [schemas[function.name] for function in tools],
                    "answer": {
                        "tool_calls": calls,
                        "response": None if calls else NO_CALL_RESPONSE,
                    },
                    "think": think,
                }
            )
        return items

    def _call_request(
        self, rng: random.Random, side: int, n_calls: int
    ) -> tuple[str, list[Function], list[dict[str, Any]], str]:
        functions = rng.sample(FUNCTIONS, n_calls)
        calls, actions = [], []
        for function in functions:
            call, action = self._action(rng, side, function)
            calls.append(call)
            actions.append(action)
        action = rng.choice(CONNECTORS[self.frame_side(side)]).join(actions)
        others = [function for function in FUNCTIONS if function not in functions]
        tools = functions + rng.sample(others, self.n_candidates - n_calls)
        rng.shuffle(tools)
        names = [function.name for function in functions]
        if n_calls == 1:
            think = f"The user wants {functions[0].purpose}, so I call {names[0]}."
        else:
            think = f"The user wants two things, so I call {names[0]} then {names[1]}."
        frame = rng.choice(FRAMES[self.frame_side(side)])
        return frame.format(action=action), tools, calls, think

    def _no_call_request(
        self, rng: random.Random, side: int
    ) -> tuple[str, list[Function], list[dict[str, Any]], str]:
        if rng.random() < SMALL_TALK_SHARE:
            action, excluded = rng.choice(SMALL_TALK[side]), frozenset()
        else:
            function = rng.choice(FUNCTIONS)
            _, action = self._action(rng, side, function)
            excluded = RELATED_DOMAINS.get(function.domain, frozenset()) | {function.domain}
        candidates = [function for function in FUNCTIONS if function.domain not in excluded]
        tools = rng.sample(candidates, self.n_candidates)
        frame = rng.choice(FRAMES[self.frame_side(side)])
        return frame.format(action=action), tools, [], NO_CALL_THINK

    def _action(
        self, rng: random.Random, side: int, function: Function
    ) -> tuple[dict[str, Any], str]:
        """One call of ``function`` and the clause that asks for it ("get ... for Oslo ...")."""
        shown = self.shown_params(function)
        values: dict[str, Any] = {}
        taken: set[tuple[Any, Any]] = set()  # parameters of one source get distinct values
        for param in function.params:
            if param.required or (param in shown and rng.random() < OPTIONAL_MENTION_PROBABILITY):
                values[param.name] = self._draw(rng, side, param, taken)
        wording = side if self.test_phrasings == "novel" else 0  # see test_phrasings
        phrasing = rng.choice(function.phrasings[wording])
        clause = phrasing.format(
            **{p.name: _render(p, values[p.name]) for p in function.params if p.required}
        )
        mentions = []
        for param in function.params:
            if param.required or param.name not in values:
                continue
            if param.kind == "boolean":
                template = BOOLEAN_MENTIONS[wording][0 if values[param.name] else 1]
                mentions.append(template.format(label=param.label))
            else:
                value = _render(param, values[param.name])
                mentions.append(param.mentions[wording].format(v=value))
        rng.shuffle(mentions)
        parameters = {p.name: values[p.name] for p in shown if p.name in values}
        return {"name": function.name, "parameters": parameters}, " ".join([clause, *mentions])

    @staticmethod
    def _draw(rng: random.Random, side: int, param: Param, taken: set[tuple[Any, Any]]) -> Any:
        if param.kind == "boolean":
            return rng.random() < 0.5
        source = param.choices or param.pool
        values = param.choices or POOLS[param.pool][side]
        generate = not param.choices and side == 0 and rng.random() < GENERATED_VALUE_SHARE
        value = generated_value(rng, param.pool) if generate else rng.choice(values)
        while (source, value) in taken:
            value = generated_value(rng, param.pool) if generate else rng.choice(values)
        taken.add((source, value))
        return value


# --------------------------------------------------------------------------- generated values
def generated_value(rng: random.Random, pool: str) -> Any:
    """An invented training value for ``pool``, of the same type and shape as its members and
    never one of its test values.

    Dates move to the years 2026-2035 (test dates are in 2025), times to minutes other than
    :15 and :45 (the test minutes), e-mail addresses get an invented name. Integers come from
    1..3 x the pool's largest value, numbers keep the pool's decimals. Text values are
    :func:`saw_bench.core.invented.look_alike` copies of a random train member.
    """
    train, test = POOLS[pool]
    excluded = set(test)
    while True:
        value = _invent(rng, pool, train)
        if value not in excluded:
            return value


def _invent(rng: random.Random, pool: str, train: Sequence[Any]) -> Any:
    if pool == "date":
        year, month, day = rng.randint(2026, 2035), rng.randint(1, 12), rng.randint(1, 28)
        return f"{year}-{month:02d}-{day:02d}"
    if pool == "time":
        return f"{rng.randint(0, 23):02d}:{rng.choice(('05', '10', '20', '25', '40', '50'))}"
    if pool == "email":
        return f"{invented_word(rng, rng.randint(3, 7))}@example.com"
    sample = rng.choice(train)
    if isinstance(sample, int):
        return rng.randint(1, 3 * max(train))
    if isinstance(sample, float):
        decimals = max(len(repr(v).split(".")[1]) for v in train)
        return round(rng.uniform(min(train), 3 * max(train)), decimals)
    return look_alike(rng, sample)


class ToolCallSynthV1Task(ToolCallSynthTask):
    """``saw/ToolCall-Synth-v1``: ToolCall-Synth with a third objective, brevity of the whole
    answer, that pulls against correctness.

    In ``-v0`` format and correctness are learned at much the same pace (static's asynchrony
    index 0.27-0.39 on the board). Here ``brevity`` joins them: 1 up to 60 characters of the
    completion, falling linearly to 0 at 260, and 0 when the format is wrong or correctness is
    at its minimum (``brevity_of="completion"``). The references (100 to 350 characters) earn
    0.49 on average. Part of it is free: each reference cuts its think sentence after a number
    of words drawn per item from 2 to the whole sentence (``reference_think="varied"``), so the
    warm policy closes its think block at many lengths, and a short think block costs nothing
    else. The rest is bought with content: a call without an optional argument, or without its
    second call, is shorter and less correct. So weighting decides where on that trade-off the
    policy ends. Measured at 5 seeds x 120 steps (``baselines/README.md``): brevity up-weighted
    4:1 against format up-weighted ends 0.10 higher in brevity under GRPO, but static's
    asynchrony index (0.41 GRPO, 0.35 GDPO) stays below the asynchrony family's median.
    Data, prompts and the other two objectives are ``-v0``'s.

    The warm start is ``-v0``'s (1,000 steps): with 400 the warm policy's correctness starts
    at -2.8 of [-3, 3] and its completions run to the token limit (6 s a step).
    """

    #: The references reach the maximum of format and correctness, not of brevity (no complete
    #: answer fits in 60 characters).
    reference_pass_rate = 0.0

    @checked_call
    def __init__(
        self,
        *,
        brevity: bool = True,
        think_target_words: int = 2,
        think_limit_words: int = 10,
        reference_think: str = "varied",
        brevity_of: str = "completion",
        completion_target_chars: int = 60,
        completion_limit_chars: int = 260,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            brevity=brevity,
            think_target_words=think_target_words,
            think_limit_words=think_limit_words,
            reference_think=reference_think,
            brevity_of=brevity_of,
            completion_target_chars=completion_target_chars,
            completion_limit_chars=completion_limit_chars,
            **kwargs,
        )

    def data_fingerprint(self) -> str:
        """A hash of the items' hash and every train reference: the references, not the items,
        carry this version's warm-start design, so a change of ``reference_think`` or of the
        think bounds names (and builds) another tiny policy."""
        digest = hashlib.sha256(super().data_fingerprint().encode())
        for item in self.split("train"):
            digest.update(self.reference(item).encode() + b"\n")
        return digest.hexdigest()


class ToolCallSynthV2Task(ToolCallSynthV1Task):
    """``saw/ToolCall-Synth-v2``: ``-v1`` with a fourth objective, ``think_brevity``, that is
    learned early: 1 up to 2 words of think block, falling linearly to 0 at 10.

    In ``-v1`` format, brevity and correctness reach 90% of their gains at much the same time
    (static's asynchrony index 0.41 under GRPO and 0.35 under GDPO, below the asynchrony
    family's median). The think block is the cheap part of ``-v1``'s brevity: the warm policy
    ends it at many lengths (``reference_think="varied"``), and shortening it costs nothing
    else, so as an objective of its own it is learned within 16-24 steps, while brevity of the
    whole answer, bought with content, goes on for the whole run. That is the situation SAW is
    for: a nearly learned objective whose low-variance rewards keep their share of a static
    update. The objectives are ordered format, correctness, think_brevity, brevity, so the
    weight-sensitivity check (first against last up-weighted 4:1) is ``-v1``'s, format against
    brevity. Data, prompts, references and the tiny policy's warm start are ``-v1``'s: the two
    versions' policies have the same weights.
    """

    @checked_call
    def __init__(self, *, think_brevity: bool = True, **kwargs: Any) -> None:
        super().__init__(think_brevity=think_brevity, **kwargs)
