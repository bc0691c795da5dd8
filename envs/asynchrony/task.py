"""Asynchrony tasks: K codebook lookups whose learning speeds, noise and conflict are dialled.

SAW's premise is that objectives are learnt at different speeds, and that an objective which is
nearly learnt still sends noise into every update. This family makes that premise a setting.
An item names K code words, one from each requirement's codebook; the answer is their K
digits, in order, separated by spaces (``"3 7"``). Each requirement is one objective,
``req1`` ... ``reqK`` in [0, 1]: the closeness of its digit to the target (1, 0.75, 0.5, 0.25,
then 0 from four away; 0 for a missing or malformed slot). The reference answer scores 1 on
every objective.

Kwargs
    ``k``: number of requirements, 2 to 6.
    ``difficulty``: code words per codebook, one integer (2 to 64) per requirement. The
    default rises about geometrically from 2 to 8 (K=2) or 16 (K=4: 2, 4, 8, 16). A word of a
    d-word codebook is in about 1/d of the prompts, so its digit is learnt about d times more
    slowly: under static weights ``req1`` saturates early while the last requirement lags
    (the measured steps to 90% per objective are on the docs page concepts/environments.md).
    ``noise``: ``{objective: sigma}``. Adds ``sigma * u`` to that objective's reward on the
    *train* split, ``u`` uniform on [-1, 1), drawn deterministically from the completion, its
    item and the seed (one completion always gets the same reward), then clipped to [0, 1]:
    zero-mean except within ``sigma`` of a bound. This is the residual noise of a nearly learnt
    objective that SAW argues against. Held-out (test) items are scored without noise, so
    evaluations measure the objective itself.
    ``conflict``: two objective names ``[a, b]``. Objective ``b`` then earns half its reward
    from its own digit and half from ``a``'s slot holding the rival digit (``a``'s target + 5,
    mod 10), so improving ``a`` costs ``b``. No answer is at the maximum of both.
    ``seed``, ``train_size``, ``test_size``: the codebooks and items (deterministic per seed).

Registered: ``saw/Async-K2-v0``, ``saw/Async-K4-v0`` and their ``-Noisy`` variants (noise 0.3 on
``req1``, the fastest objective). Prompts are ~10 tokens and answers ~2K tokens, so a training
step costs a fraction of a second with the tiny policy.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import Field, SkipValidation

from saw_bench.core.options import NonNegativeInt, OptionError, check, checked_call
from saw_bench.core.task import Item, Message, Objective, TextTask

from . import data, rewards

K_RANGE = (2, 6)
KEYS_RANGE = (2, 64)
MAX_NOISE = 1.0
INSTRUCTION = "Answer with the digit of each code word, in order:"
#: Share of an SFT target's digits that a corrupted warm-start target replaces (the tiny
#: policy's builder calls :meth:`AsyncTask.corrupt_reference`).
CORRUPT_DIGIT_SHARE = 0.5
#: The tiny policy's warm-start steps by K (:meth:`AsyncTask.tiny_recipe_for`); other K keep
#: the default. Each leaves the codebooks partly learnt, the larger ones less: RL sharpens what
#: the warm policy half knows, and a codebook it has not started on stays near chance.
TINY_SFT_STEPS = {2: 250, 4: 150}


#: Code words per codebook by K: from 2 up to 8 (K=2) or 16 (K >= 3), about geometric. With the
#: tiny policy a 16-word codebook next to a single 2-word one is barely learnt by its warm start
#: and RL does not lift it (held-out 0.45 -> 0.5 in 80 steps), so K=2 stops at 8.
DEFAULT_DIFFICULTY = {
    2: (2, 8),
    3: (2, 5, 16),
    4: (2, 4, 8, 16),
    5: (2, 3, 6, 10, 16),
    6: (2, 3, 5, 7, 11, 16),
}


def default_difficulty(k: int) -> tuple[int, ...]:
    """Code words per codebook of each requirement (:data:`DEFAULT_DIFFICULTY`)."""
    return DEFAULT_DIFFICULTY[k]


#: Number of requirements (objectives).
K = Annotated[int, Field(ge=K_RANGE[0], le=K_RANGE[1])]
Size = Annotated[int, Field(ge=1)]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class AsyncTask(TextTask):
    """K codebook lookups, one objective each, learnt at speeds set by their codebook sizes."""

    max_completion_chars = 256

    @checked_call  # each keyword is checked against its type before the body runs
    def __init__(
        self,
        *,
        k: K = 2,
        # checked below, against k and the objective names
        difficulty: SkipValidation[Sequence[int] | None] = None,
        noise: SkipValidation[Mapping[str, float] | None] = None,
        conflict: SkipValidation[Sequence[str] | None] = None,
        seed: NonNegativeInt = 0,
        train_size: Size = 2000,
        test_size: Size = 200,
    ) -> None:
        self.k, self.difficulty = k, _check_difficulty(difficulty, k)
        names = _names(self.k)
        self.noise = _check_noise(noise, names)
        self.conflict = _check_conflict(conflict, names)
        self.seed, self.sizes = seed, {"train": train_size, "test": test_size}
        self.objectives = self.objectives_for(k=self.k, difficulty=self.difficulty)
        self.tables = data.codebooks(seed, self.difficulty)
        self._items: dict[str, list[Item]] = {}
        # With noise, a train-split reference lands below the maximum when its draw is negative
        # (about half of them); the held-out references always score the maximum.
        self.reference_pass_rate = 0.5 if self.noise else 1.0

    @classmethod
    def objectives_for(cls, **kwargs: Any) -> tuple[Objective, ...]:
        k = check("k", kwargs.get("k", 2), K)
        difficulty = _check_difficulty(kwargs.get("difficulty"), k)
        return tuple(
            Objective(
                name,
                rewards.LOW,
                rewards.HIGH,
                f"digit of a {keys}-word codebook: 1 - |answer - target| / {rewards.WIDTH}",
            )
            for name, keys in zip(_names(k), difficulty, strict=True)
        )

    def split(self, name: str) -> Sequence[Item]:
        self.check_split_name(name)
        if name not in self._items:
            self._items[name] = data.generate_items(name, self.sizes[name], self.seed, self.tables)
        return self._items[name]

    def prompt(self, item: Item) -> list[Message]:
        return [{"role": "user", "content": f"{INSTRUCTION} {' '.join(item['keys'])}"}]

    def reference(self, item: Item) -> str:
        return " ".join(item["targets"])

    def score_completion(self, item: Item, completion: str) -> list[float]:
        values = rewards.score(item["targets"], completion, conflict=self.conflict)
        if self.noise and item.get("split") == "train":
            for index, name in enumerate(self.objective_names):
                sigma = self.noise.get(name)
                if sigma:
                    draw = rewards.unit_noise(self.seed, item["id"], name, completion)
                    values[index] = rewards.noisy(values[index], sigma, draw)
        return values

    def diagnose(self, item: Item, completion: str) -> dict[str, Any]:
        slots = rewards.answer_digits(self.truncate(completion), self.k)
        return {"answer_digits": slots, "target_digits": [int(t) for t in item["targets"]]}

    @classmethod
    def tiny_recipe_for(cls, **kwargs: Any) -> dict[str, Any]:
        k = kwargs.get("k", 2)
        return {"sft_steps": TINY_SFT_STEPS[k]} if k in TINY_SFT_STEPS else {}

    def corrupt_reference(self, item: Item, reference: str, rng: random.Random) -> str:
        """A plausible wrong answer for the warm start: about half the digits replaced by other
        digits (at least one), the format kept."""
        digits = reference.split()
        chosen = [i for i in range(len(digits)) if rng.random() < CORRUPT_DIGIT_SHARE]
        for index in chosen or [rng.randrange(len(digits))]:
            digits[index] = rng.choice([d for d in data.DIGITS if d != digits[index]])
        return " ".join(digits)


def _names(k: int) -> tuple[str, ...]:
    return tuple(f"req{index + 1}" for index in range(k))


def _check_difficulty(difficulty: object, k: int) -> tuple[int, ...]:
    if difficulty is None:
        return default_difficulty(k)
    low, high = KEYS_RANGE
    if (
        isinstance(difficulty, str | bytes)
        or not isinstance(difficulty, Sequence)
        or len(difficulty) != k
        or not all(_is_int(keys) and low <= keys <= high for keys in difficulty)
    ):
        raise OptionError(
            f"difficulty must list {k} integers from {low} to {high} (code words per "
            f"requirement), but got {difficulty!r}"
        )
    return tuple(difficulty)


def _check_noise(noise: object, names: tuple[str, ...]) -> dict[str, float]:
    if noise is None:
        return {}
    if not isinstance(noise, Mapping):
        raise OptionError(f"noise must map objective names to sigmas, but got {noise!r}")
    unknown = sorted(set(map(str, noise)) - set(names))
    if unknown:
        raise OptionError(f"noise names unknown objective(s) {unknown}; objectives: {list(names)}")
    checked = {}
    for name, sigma in noise.items():
        if isinstance(sigma, bool) or not isinstance(sigma, int | float):
            raise OptionError(f"noise sigma for {name} must be a number, but got {sigma!r}")
        if not 0 <= sigma <= MAX_NOISE:
            raise OptionError(f"noise sigma for {name} must be in [0, {MAX_NOISE}], got {sigma}")
        checked[name] = float(sigma)
    return checked


def _check_conflict(conflict: object, names: tuple[str, ...]) -> tuple[int, int] | None:
    if conflict is None:
        return None
    if (
        isinstance(conflict, str | bytes)
        or not isinstance(conflict, Sequence)
        or len(conflict) != 2
        or not all(name in names for name in conflict)
        or conflict[0] == conflict[1]
    ):
        raise OptionError(
            f"conflict must name two different objectives of {list(names)}, but got {conflict!r}"
        )
    return names.index(conflict[0]), names.index(conflict[1])
