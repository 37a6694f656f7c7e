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

`classifier_for_workspace(id)` trains on the workspace's CustomIntent rows once and caches the classifier
(bounded LRU keyed by workspace, a fingerprint of its intents and the embedder's name; workspaces without custom
intents share one built-ins-only classifier), so later messages cost one embedding plus ~1-2 ms. The built-ins'
vectors are computed once per embedder and process, so training embeds only the custom examples (77 intents × 10
examples: ~2-4 s on 2 cores, mostly the two logistic regressions).

Measured on BANKING77 (10 examples per intent, 3 samplings, held-out messages): see bench/intents_banking77.py.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import OrderedDict
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from backend.ai.types import IntentResult
from backend.providers.embeddings import embed_cached

log = logging.getLogger(__name__)

OTHER = "other"

# --- built-in intents ---------------------------------------------------------------------------------------------

BUILTIN_INTENTS: dict[str, tuple[str, ...]] = {
    "greeting": (
        "Hi",
        "Hello!",
        "hey there",
        "Good morning",
        "Good afternoon, is anyone there?",
        "Good evening",
        "hiya",
        "Hello, I hope you're doing well",
        "Hey! Quick one for you",
        "Hi there, I have a question",
        "hellooo",
        "Hi, it's Maria",
        "Yo",
        "Greetings",
        "Howdy",
        "hi hi",
        "Hello, anybody around?",
        "Morning!",
        "Hey, how are you?",
        "hii :)",
        "Bonjour",
        "Hola",
    ),
    "question": (
        "Do you accept my insurance?",
        "Is there parking nearby?",
        "Do you have vegan options on the menu?",
        "Is your office wheelchair accessible?",
        "Can I bring my dog?",
        "Where are you located?",
        "Do you offer teeth whitening?",
        "Do you do free consultations for divorce cases?",
        "What documents do I need to open an account?",
        "Do you take walk-ins or is it appointment only?",
        "Can I pay by card?",
        "Do you deliver to my area?",
        "Is the restaurant kid friendly?",
        "what's your cancellation policy",
        "Do you speak Spanish?",
        "How long does a root canal take?",
        "Do you have gluten free pasta?",
        "Does the salon use organic hair products?",
        "What's your address?",
        "Do you handle immigration cases as well?",
        "is there wifi",
        "Can I get a copy of my invoice?",
        "What should I bring to my first visit?",
        "What should I bring to my appointment?",
        "How long will my appointment take?",
        "Can I eat before my appointment?",
        "Do I need to arrive early for my appointment?",
        "Where do I go for my appointment?",
        "How does the refund policy work?",
        "do u ship internationally",
    ),
    "book": (
        "I'd like to book an appointment",
        "Can I book a table for 4 tomorrow at 8pm?",
        "I want to make a reservation",
        "Do you have any availability on Friday?",
        "Can I schedule a cleaning next week?",
        "book me in for a haircut on Saturday morning please",
        "I'd like to see the dentist as soon as possible",
        "Could I get an appointment with a lawyer this week?",
        "Table for two tonight?",
        "Can I come in Tuesday at 3?",
        "I need to schedule a consultation",
        "Are there any free slots this afternoon?",
        "Is Saturday at 10 free?",
        "Are you free on Thursday at 2pm for a check-up?",
        "Is there an opening tomorrow morning?",
        "Do you have anything after 5 on Monday?",
        "Is 2pm on the 12th ok for a haircut?",
        "Would Monday at 11 work for a check-up?",
        "I'd like to reserve a spot for the yoga class",
        "Can you fit me in for a colour and cut?",
        "I want to set up a meeting with an advisor about a mortgage",
        "book a table for 6 people on the 14th",
        "Can I make an appointment for my son?",
        "Do you have an opening next Monday morning?",
        "I'd like to book a massage for two",
        "wanna book for thursday evening",
        "When is the next available appointment?",
    ),
    "reschedule": (
        "Can I move my appointment to Friday?",
        "I need to reschedule",
        "Could we change my booking to a later time?",
        "Something came up, can we do another day?",
        "Is it possible to push my reservation to 9pm?",
        "I'd like to change the date of my appointment",
        "Can I switch my Tuesday slot to Thursday?",
        "I can't make it at 2, could we do 4 instead?",
        "Please move my haircut to next week",
        "Can we postpone the meeting with the lawyer?",
        "reschedule my cleaning pls",
        "I need to change my booking from 7 to 8 people and to Saturday",
        "Can I bring my appointment forward to this morning?",
        "Running late, can we move my slot to later today?",
        "Could you rebook me for another time?",
        "I need a different time for my consultation",
        "Change my reservation to tomorrow please",
    ),
    "cancel": (
        "I need to cancel my appointment",
        "Please cancel my booking",
        "Cancel my reservation for tonight",
        "I won't be able to make it, please cancel",
        "Can I cancel my table for Saturday?",
        "I'd like to cancel my consultation",
        "We have to cancel, sorry",
        "cancel my haircut tomorrow",
        "I can't come anymore, please remove my booking",
        "How do I cancel my appointment?",
        "Please call off my meeting with the advisor",
        "I want to cancel",
        "Cancel the order please",
        "I'm sick and can't come in, please cancel",
        "Drop my reservation, plans changed",
        "Can you delete my booking for next week?",
        "I'd like to cancel my membership",
    ),
    "pricing": (
        "How much is a haircut?",
        "What are your prices?",
        "How much does a cleaning cost?",
        "What do you charge for a consultation?",
        "What's the fee for a will?",
        "How much for a table for 10?",
        "Do you have a price list?",
        "how much is teeth whitening",
        "What's the cost of a full colour?",
        "Are there any monthly fees on the account?",
        "Is the first visit free or do I have to pay?",
        "What are your hourly rates?",
        "Do you offer any discounts for students?",
        "What's the price of the tasting menu?",
        "How expensive is a crown?",
        "cost of a massage?",
        "Do you charge for cancellations?",
        "How much would it be for a manicure and pedicure?",
        "What would a divorce cost roughly?",
        "Is there a deposit?",
    ),
    "opening_hours": (
        "What time do you open?",
        "When do you close today?",
        "Are you open on Sundays?",
        "What are your opening hours?",
        "Are you open now?",
        "What are your hours on Saturday?",
        "Are you open on public holidays?",
        "till what time are you open tonight",
        "When does the kitchen close?",
        "Are you open over Christmas?",
        "What time does the branch open tomorrow?",
        "Is the clinic open at lunchtime?",
        "hours?",
        "are u open late on thursdays",
        "Until when can I call you today?",
        "When are you open?",
        "Are you closed on Mondays?",
        "What days are you open?",
    ),
    "human": (
        "Can I talk to a real person?",
        "I want to speak to a human",
        "Put me through to someone please",
        "Is there an actual person I can talk to?",
        "Let me speak to the manager",
        "Can someone call me back?",
        "I'd rather talk to a staff member",
        "agent please",
        "Can I speak with the dentist directly?",
        "Are you a bot? I want a human",
        "Connect me to customer service",
        "I need to talk to my lawyer, not a machine",
        "Please have somebody phone me",
        "Transfer me to an operator",
        "can i talk to someone from the team",
        "Get me a person",
        "I'd like to speak with the owner",
        "Could a member of your staff contact me?",
        "representative",
    ),
    "complaint": (
        "I'm very unhappy with the service",
        "This is unacceptable",
        "My haircut is terrible and I want my money back",
        "The food was cold and the waiter was rude",
        "I've been waiting for 40 minutes, this is ridiculous",
        "I want to make a complaint",
        "You charged me twice and nobody is helping",
        "Worst experience ever",
        "My filling fell out two days after the appointment",
        "I'm really disappointed with how my case was handled",
        "Nobody answers the phone, I'm fed up",
        "Your staff was extremely rude to me",
        "I'm not happy at all with the result",
        "I was overcharged and I'm furious",
        "The room was dirty",
        "This is the third time my order is wrong",
        "I want to file a formal complaint",
        "terrible service, never again",
        "You messed up my booking and ruined my evening",
    ),
    "thanks": (
        "Thanks!",
        "Thank you so much",
        "thx",
        "Great, thanks a lot",
        "Perfect, thank you",
        "Thanks for your help",
        "Cheers",
        "ty",
        "Many thanks",
        "That's very helpful, thanks",
        "Awesome, appreciate it",
        "thank u",
        "Much appreciated",
        "Ok thanks",
        "Brilliant, thank you very much",
        "Thanks, that answers my question",
        "Super, merci",
    ),
    "goodbye": (
        "Bye",
        "Goodbye",
        "See you",
        "See you tomorrow",
        "Have a nice day",
        "bye bye",
        "Talk soon",
        "Have a good evening, bye",
        "That's all, bye",
        "Catch you later",
        "Good night",
        "ok bye",
        "See you on Saturday then",
        "Take care",
        "Have a great weekend",
    ),
}

BUILTIN_INTENT_LABELS: dict[str, str] = {
    "greeting": "Greeting",
    "question": "Question",
    "book": "Book",
    "reschedule": "Reschedule",
    "cancel": "Cancel",
    "pricing": "Pricing",
    "opening_hours": "Opening hours",
    "human": "Talk to a person",
    "complaint": "Complaint",
    "thanks": "Thanks",
    "goodbye": "Goodbye",
    OTHER: "Other",
}

BUILTIN_NAMES = frozenset(BUILTIN_INTENTS) | {OTHER}

# --- model constants (chosen on the BANKING77 benchmark; see the module docstring) ------------------------------

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


# --- built-in vectors, computed once per embedder -----------------------------------------------------------------

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


# --- per-workspace classifiers ------------------------------------------------------------------------------------

CACHE_SIZE = 64

_cache: "OrderedDict[tuple, IntentClassifier]" = OrderedDict()
_cache_lock = threading.Lock()
_training_locks: dict[tuple, threading.Lock] = {}


def workspace_intents(workspace_id: int) -> list[tuple[str, list[str]]]:
    """The workspace's custom intents as (name, examples), its description counting as one more example."""
    from backend.db import session_scope, tenant_select
    from backend.models import CustomIntent

    with session_scope() as session:
        rows = session.exec(tenant_select(CustomIntent, workspace_id).order_by(CustomIntent.name)).all()
        out = []
        for row in rows:
            examples = [str(e) for e in (row.examples or [])]
            if (row.description or "").strip():
                examples.append(row.description.strip())
            out.append((row.name, examples))
        return out


def fingerprint(intents: Sequence[tuple[str, Sequence[str]]]) -> str:
    payload = json.dumps(sorted((name, list(examples)) for name, examples in intents), ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:20]


def classifier_for_workspace(workspace_id: int, *, embedder: Any = None) -> IntentClassifier:
    """The workspace's trained classifier: built-ins plus its custom intents, trained once per version of them."""
    intents = workspace_intents(workspace_id)
    # Workspaces without custom intents all share one built-ins-only classifier.
    return _trained(int(workspace_id) if intents else None, intents, embedder)


def builtin_classifier(*, embedder: Any = None) -> IntentClassifier:
    """The built-ins-only classifier every workspace without intents of its own shares (warmed at start-up)."""
    return _trained(None, [], embedder)


def _trained(workspace_id: int | None, intents: list[tuple[str, list[str]]], embedder: Any) -> IntentClassifier:
    if embedder is None:
        from backend.providers.embeddings import get_embedder

        embedder = get_embedder()
    name = str(getattr(embedder, "name", "") or type(embedder).__name__)
    key = (workspace_id, fingerprint(intents), name)
    with _cache_lock:
        found = _cache.get(key)
        if found is not None:
            _cache.move_to_end(key)
            return found
        lock = _training_locks.setdefault(key, threading.Lock())
    with lock:  # one thread trains a given version; the others wait for it instead of training too
        try:
            with _cache_lock:
                found = _cache.get(key)
                if found is not None:
                    _cache.move_to_end(key)
                    return found
            classifier = IntentClassifier.train(intents, embedder=embedder)
            with _cache_lock:
                # an older version of the same workspace's intents will not be asked for again
                if key[0] is not None:
                    for stale in [k for k in _cache if k[0] == key[0] and k != key]:
                        del _cache[stale]
                _cache[key] = classifier
                while len(_cache) > CACHE_SIZE:
                    _cache.popitem(last=False)
            return classifier
        finally:
            with _cache_lock:
                _training_locks.pop(key, None)


def invalidate_workspace_classifier(workspace_id: int) -> None:
    """Forget the workspace's classifiers (the fingerprint already changes with its intents; this frees memory)."""
    with _cache_lock:
        for key in [k for k in _cache if k[0] == int(workspace_id)]:
            del _cache[key]


def clear_classifier_cache() -> None:
    with _cache_lock:
        _cache.clear()
    with _builtin_lock:
        _builtin_cache.clear()


def cached_classifier_count() -> int:
    with _cache_lock:
        return len(_cache)


def intent_label(name: str) -> str:
    """How an intent reads on the dashboard: the built-in's label, or the custom name with spaces."""
    return BUILTIN_INTENT_LABELS.get(name) or _humanise(name).capitalize()


__all__ = [
    "BUILTIN_INTENTS", "BUILTIN_INTENT_LABELS", "BUILTIN_NAMES", "OTHER", "IntentClassifier",
    "classifier_for_workspace", "clear_classifier_cache", "invalidate_workspace_classifier", "intent_label",
    "workspace_intents", "fingerprint", "cached_classifier_count",
]
