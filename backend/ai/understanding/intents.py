"""Intent classification: what does the customer want? Few-shot, on sentence embeddings, in a few milliseconds.

Every workspace gets the built-in intents (greeting, question, book, reschedule, cancel, pricing, opening_hours,
human, complaint, thanks, goodbye) and adds its own "custom intents", each a name and a handful of example
messages. `IntentClassifier.train` learns them together; `classify` returns an `IntentResult` with a confidence
in 0..1, or the fallback "other" when nothing is close enough.

The model (chosen on the BANKING77 few-shot benchmark, `bench/intents_banking77.py`):

  * a multinomial logistic regression on the embeddings of the examples (the intent's own name, "card arrival",
    counts as one more example: it is what the owner typed, and it helps);
  * a logistic regression on TF-IDF word (1-2) and character (2-5) n-grams: lexical cues the embedding blurs
    ("transfer" vs "top up");
  * the cosine similarity of the message to the closest example of each intent (a nearest-neighbour vote).

Their scores are added (`score = lr_embedding + 0.3 * lr_lexical + 5 * nearest_cosine`), a per-intent prior is
added (below), and a softmax over the intents gives the probability. The confidence is that probability, damped
when the message is far from every example (a message unlike anything the intents were taught is not "sure"
whatever the softmax says). Under `OTHER_THRESHOLD` the answer is "other".

Built-ins and custom intents live together. When a workspace has custom intents, the built-ins get a negative
prior (`BUILTIN_PRIOR`, and more for the catch-all "question"): the owner's own intents are more specific, so a
built-in only wins when it is clearly better ("hi!", "thanks", "can I talk to a person?"). A bank's custom
"card_arrival" beats "question" for "when will my card arrive?".

The built-in intents and their examples are in builtin_intents.py; each workspace's trained classifier is cached
by backend/ai/classifiers.py.

Measured on BANKING77 (10 examples per intent, 3 samplings, held-out messages): see bench/intents_banking77.py."""

from __future__ import annotations

import re
import threading
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from backend.ai.types import IntentResult
from backend.ai.understanding.builtin_intents import BUILTIN_INTENT_LABELS, BUILTIN_INTENTS, BUILTIN_NAMES, OTHER
from backend.providers.embeddings import embed_cached

LR_C = 20.0  # inverse L2 strength of both logistic regressions
LEXICAL_WEIGHT = 0.3  # weight of the TF-IDF logistic regression's scores
LEXICAL_TOL = 1e-3  # a looser fit of the lexical model: 2-3x faster to train, same accuracy (BANKING77)
NEAREST_WEIGHT = 5.0  # weight of the cosine to the closest example of each intent
# Log-priors added to built-in intents when the classifier also knows custom intents.
BUILTIN_PRIOR = -2.0
QUESTION_PRIOR = -4.0  # "question" is the catch-all: a custom intent that fits at all is better
# Confidence: the softmax probability times a closeness factor that goes from 0 (nearest example at cosine
# CLOSE_LOW or less) to 1 (cosine CLOSE_HIGH or more).
CLOSE_LOW, CLOSE_HIGH = 0.2, 0.55
OTHER_THRESHOLD = 0.2  # below this confidence the answer is "other"
MAX_EXAMPLES_PER_INTENT = 200

_SPACE = re.compile(r"\s+")


def _clean(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _humanise(name: str) -> str:
    """"card_arrival" → "card arrival": an intent's name is an example of it."""
    return _clean(re.sub(r"[_\-.]+", " ", name))


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def _intent_items(custom: Mapping[str, Sequence[str]] | Sequence[tuple[str, Sequence[str]]] | Iterable
                  ) -> list[tuple[str, list[str]]]:
    items = custom.items() if isinstance(custom, Mapping) else custom
    out: list[tuple[str, list[str]]] = []
    for item in items:
        name, examples = item
        if isinstance(examples, str):
            raise TypeError(f"the examples of intent {name!r} must be a list of strings, not one string")
        out.append((str(name).strip(), [str(e) for e in examples]))
    return out


class IntentClassifier:
    """A trained classifier; immutable after `train`, so one instance serves every thread."""

    def __init__(self) -> None:  # use IntentClassifier.train
        self.embedder: Any = None
        self.embedder_name = ""
        self.names: tuple[str, ...] = ()
        self.builtin: tuple[bool, ...] = ()
        self.has_custom = False
        self.example_count = 0
        self._prior = np.zeros(0)
        self._emb_w: np.ndarray | None = None
        self._emb_b: np.ndarray | None = None
        self._lex_w: Any = None
        self._lex_b: np.ndarray | None = None
        self._vectorizers: tuple[Any, Any] | None = None
        self._examples = np.zeros((0, 0), dtype=np.float32)
        self._example_class = np.zeros(0, dtype=np.int64)

    # --- training -------------------------------------------------------------------------------------------

    @classmethod
    def train(cls, custom: Mapping[str, Sequence[str]] | Sequence[tuple[str, Sequence[str]]] = (), *,
              embedder: Any = None, include_builtin: bool = True, use_names: bool = True) -> "IntentClassifier":
        """Learn the custom intents ({name: examples} or [(name, examples)]), with the built-ins unless told not.

        A custom intent named like a built-in adds its examples to the built-in's. Blank and repeated examples
        are ignored; an intent left with no example is dropped. `use_names` makes each custom intent's own name
        ("card_arrival" → "card arrival") one more example.
        """
        if embedder is None:
            from backend.providers.embeddings import get_embedder

            embedder = get_embedder()
        self = cls()
        self.embedder = embedder
        self.embedder_name = str(getattr(embedder, "name", "") or type(embedder).__name__)

        merged: dict[str, list[str]] = {}
        is_builtin: dict[str, bool] = {}
        if include_builtin:
            for name, examples in BUILTIN_INTENTS.items():
                merged[name] = list(examples)
                is_builtin[name] = True
        custom_names = set()
        for name, examples in _intent_items(custom):
            if not name or name == OTHER:
                continue
            bucket = merged.setdefault(name, [])
            is_builtin.setdefault(name, False)
            if not is_builtin[name]:
                custom_names.add(name)
                if use_names and re.search(r"[^\W\d_]", name):
                    bucket.append(_humanise(name))
            bucket.extend(examples)

        texts: list[str] = []
        labels: list[int] = []
        names: list[str] = []
        for name, examples in merged.items():
            seen: set[str] = set()
            kept = []
            for example in examples:
                text = _clean(example)
                key = text.lower()
                if text and key not in seen:
                    seen.add(key)
                    kept.append(text)
            if not kept:
                continue
            index = len(names)
            names.append(name)
            for text in kept[:MAX_EXAMPLES_PER_INTENT]:
                texts.append(text)
                labels.append(index)

        self.names = tuple(names)
        self.builtin = tuple(is_builtin[n] for n in names)
        self.has_custom = any(n in custom_names for n in names)
        self.example_count = len(texts)
        prior = np.zeros(len(names))
        if self.has_custom:
            for i, name in enumerate(names):
                if self.builtin[i]:
                    prior[i] = QUESTION_PRIOR if name == "question" else BUILTIN_PRIOR
        self._prior = prior
        if not names:
            return self

        y = np.asarray(labels, dtype=np.int64)
        vectors = self._embed_examples(texts)
        self._examples = vectors
        self._example_class = y
        if len(names) >= 2:
            self._fit_models(texts, vectors, y)
        return self

    def _embed_examples(self, texts: list[str]) -> np.ndarray:
        """The examples' vectors; the built-ins' are computed once per embedder and process."""
        builtin_texts = _builtin_texts()
        cached = _builtin_vectors(self.embedder, self.embedder_name) if any(t in builtin_texts for t in texts) \
            else {}
        missing = [t for t in dict.fromkeys(texts) if t not in cached]
        fresh = dict(zip(missing, self._embed(missing))) if missing else {}
        dim = len(next(iter(fresh.values()))) if fresh else len(next(iter(cached.values())))
        out = np.empty((len(texts), dim), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = fresh[text] if text in fresh else cached[text]
        return out

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return embed_cached(self.embedder, list(texts))

    def _fit_models(self, texts: list[str], vectors: np.ndarray, y: np.ndarray) -> None:
        import warnings

        from scipy import sparse
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            emb = LogisticRegression(C=LR_C, max_iter=1000).fit(vectors, y)
            self._emb_w, self._emb_b = self._ovr_weights(emb, len(self.names))

            words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
            chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, lowercase=True)
            try:
                features = sparse.hstack([words.fit_transform(texts), chars.fit_transform(texts)]).tocsr()
            except ValueError:  # no word at all ("?", "!!"): the lexical model abstains
                return
            lex = LogisticRegression(C=LR_C, max_iter=1000, tol=LEXICAL_TOL).fit(features, y)
            self._vectorizers = (words, chars)
            w, self._lex_b = self._ovr_weights(lex, len(self.names))
            self._lex_w = np.ascontiguousarray(w.T)  # (features, classes): sparse input @ dense weights

    @staticmethod
    def _ovr_weights(model: Any, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
        coef = np.asarray(model.coef_, dtype=np.float64)
        intercept = np.asarray(model.intercept_, dtype=np.float64)
        if coef.shape[0] == 1 and n_classes == 2:  # binary: sklearn keeps one row for class 1
            coef = np.vstack([-coef[0] / 2, coef[0] / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        return coef.astype(np.float32), intercept

    # --- classification -------------------------------------------------------------------------------------

    def classify(self, text: str) -> IntentResult:
        return self.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[IntentResult]:
        if isinstance(texts, str):
            raise TypeError("classify_many() takes a list of strings; use classify() for one")
        cleaned = [_clean(t) if isinstance(t, str) else "" for t in texts]
        todo = [i for i, t in enumerate(cleaned) if t]
        results: list[IntentResult] = [IntentResult(OTHER, 0.0, (), True) for _ in cleaned]
        if not todo or not self.names:
            return results
        vectors = self._embed([cleaned[i] for i in todo])
        probs, closeness = self._scores([cleaned[i] for i in todo], vectors)
        for row, i in enumerate(todo):
            results[i] = self._result(probs[row], closeness[row])
        return results

    def scores(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities n×intents, closeness n) for non-empty texts: for benchmarks and debugging."""
        if vectors is None:
            vectors = self._embed(list(texts))
        return self._scores(list(texts), np.asarray(vectors, dtype=np.float32))

    def _scores(self, texts: list[str], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n, k = len(texts), len(self.names)
        sims = vectors @ self._examples.T  # n × examples
        nearest = np.full((n, k), -1.0, dtype=np.float64)
        for c in range(k):
            nearest[:, c] = sims[:, self._example_class == c].max(axis=1)
        score = NEAREST_WEIGHT * nearest
        if self._emb_w is not None:
            score += vectors @ self._emb_w.T + self._emb_b
        if self._vectorizers is not None:
            from scipy import sparse

            words, chars = self._vectorizers
            features = sparse.hstack([words.transform(texts), chars.transform(texts)]).tocsr()
            score += LEXICAL_WEIGHT * (np.asarray(features @ self._lex_w) + self._lex_b)
        score += self._prior
        probs = _softmax(score)
        # How close the message is to anything the intents were taught: its nearest example, whatever the intent.
        closeness = np.clip((nearest.max(axis=1) - CLOSE_LOW) / (CLOSE_HIGH - CLOSE_LOW), 0.0, 1.0)
        return probs, closeness

    def _result(self, probs: np.ndarray, closeness: float) -> IntentResult:
        confidence = probs * float(closeness)
        order = np.argsort(-probs, kind="stable")
        best = int(order[0])
        alternatives = tuple((self.names[int(j)], round(float(confidence[j]), 4)) for j in order[1:3])
        top = float(confidence[best])
        if top < OTHER_THRESHOLD:
            # Nothing is close enough: "other", with what it would have been as the first alternative.
            alternatives = ((self.names[best], round(top, 4)),) + alternatives[:1]
            return IntentResult(OTHER, round(top, 4), alternatives, True)
        return IntentResult(self.names[best], round(top, 4), alternatives, self.builtin[best])


_builtin_lock = threading.Lock()
_builtin_cache: dict[str, dict[str, np.ndarray]] = {}


def _builtin_texts() -> set[str]:
    return {_clean(t) for examples in BUILTIN_INTENTS.values() for t in examples}


def _builtin_vectors(embedder: Any, name: str) -> dict[str, np.ndarray]:
    with _builtin_lock:
        cached = _builtin_cache.get(name)
        if cached is None:
            texts = sorted(_builtin_texts())
            vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
            cached = _builtin_cache[name] = dict(zip(texts, vectors))
        return cached


def intent_label(name: str) -> str:
    """How an intent reads on the dashboard: the built-in's label, or the custom name with spaces."""
    return BUILTIN_INTENT_LABELS.get(name) or _humanise(name).capitalize()


__all__ = [
    "BUILTIN_INTENTS", "BUILTIN_INTENT_LABELS", "BUILTIN_NAMES", "OTHER", "IntentClassifier", "intent_label",
]
