"""Invented values for procedural training data: pronounceable made-up words and look-alikes.

A small model trained on a fixed list of names or cities learns the list; trained on an open
supply of invented ones, it has to copy them from its input, which is what held-out items with
unseen values ask for. The synthetic environments draw part of their training values here.
"""

from __future__ import annotations

import random
import re

CONSONANTS = "bdfgklmnprstvz"
VOWELS = "aeiou"
UPPERCASE = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def invented_word(rng: random.Random, letters: int) -> str:
    """A lowercase word of ``letters`` letters: consonant-vowel pairs, then a consonant when
    ``letters`` is odd ("kanon", "vedobom")."""
    word = "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(letters // 2))
    return word + rng.choice(CONSONANTS) if letters % 2 else word


def invented_name(rng: random.Random, low: int = 4, high: int = 8) -> str:
    """A capitalised invented word of ``low`` to ``high`` letters ("Velkora")."""
    return invented_word(rng, rng.randint(low, high)).capitalize()


def look_alike(rng: random.Random, sample: str) -> str:
    """A string shaped like ``sample``: each lowercase or capitalised letter run becomes an
    invented word of about its length with the same capitalisation, each all-caps run random
    capitals of the same length, each digit a random digit; other characters stay.
    ("Harbor Grill" -> "Tamisu Rendo", "LH102" -> "QX571", "SAVE10" -> "PXAP38")."""
    pieces = re.findall(r"[A-Za-z]+|[0-9]+|[^A-Za-z0-9]+", sample)
    return "".join(_reshape(rng, piece) for piece in pieces)


def _reshape(rng: random.Random, piece: str) -> str:
    if piece.isdigit():
        return "".join(rng.choice("0123456789") for _ in piece)
    if not piece.isalpha():
        return piece
    if piece.isupper():
        return "".join(rng.choice(UPPERCASE) for _ in piece)
    word = invented_word(rng, max(2, len(piece) + rng.randint(-1, 2)))
    return word.capitalize() if piece[0].isupper() else word
