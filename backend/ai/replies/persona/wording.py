"""Small wording tools shared by the voices and the instructions: a stable choice between variants (never at
random, so the same message always gets the same words) and contractions expanded for a voice that does not use them."""

from __future__ import annotations

import hashlib
import re
from typing import Sequence


def stable_hash(*keys: object) -> int:
    """A hash that is the same in every process (Python's hash() of a str is salted per process)."""
    digest = hashlib.blake2b("\x1f".join(str(k) for k in keys).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def pick(options: Sequence[str], *keys: object) -> str:
    """One of `options`, chosen by a stable hash of `keys` (typically the message and what is being chosen)."""
    if not options:
        return ""
    return options[stable_hash(*keys) % len(options)]


_CONTRACTIONS = {
    "i'm": "I am", "i'll": "I will", "i've": "I have", "i'd": "I would",
    "you're": "you are", "you'll": "you will", "you've": "you have", "you'd": "you would",
    "we're": "we are", "we'll": "we will", "we've": "we have", "we'd": "we would",
    "they're": "they are", "they'll": "they will", "it's": "it is", "that's": "that is", "there's": "there is",
    "here's": "here is", "what's": "what is", "don't": "do not", "doesn't": "does not", "didn't": "did not",
    "can't": "cannot", "won't": "will not", "isn't": "is not", "aren't": "are not", "wasn't": "was not",
    "couldn't": "could not", "shouldn't": "should not", "wouldn't": "would not", "haven't": "have not",
    "hasn't": "has not",
}
_CONTRACTION_RE = re.compile(
    r"\b(" + "|".join(re.escape(k).replace("'", "['’]") for k in sorted(_CONTRACTIONS, key=len, reverse=True))
    + r")\b", re.IGNORECASE)


def expand_contractions(text: str) -> str:
    """"I'll check" → "I will check"; keeps a capital where the contraction had one."""

    def repl(m: re.Match[str]) -> str:
        word = m.group(0)
        full = _CONTRACTIONS[word.lower().replace("’", "'")]
        if word[0].isupper() and not full.startswith("I "):
            full = full[0].upper() + full[1:]
        return full

    return _CONTRACTION_RE.sub(repl, text)
