"""Each workspace's intent classifier, trained once per version of its custom intents and kept in memory.

`classifier_for_workspace(id)` trains on the workspace's CustomIntent rows once and caches the classifier
(bounded LRU keyed by workspace, a fingerprint of its intents and the embedder's name; workspaces without custom
intents share one built-ins-only classifier), so later messages cost one embedding plus ~1-2 ms. The built-ins'
vectors are computed once per embedder and process, so training embeds only the custom examples (77 intents × 10
examples: ~2-4 s on 2 cores, mostly the two logistic regressions)."""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from typing import Any, Sequence

from backend.ai.understanding.intents import IntentClassifier, _builtin_cache, _builtin_lock
from backend.db import session_scope, tenant_select
from backend.models import CustomIntent
from backend.providers.embeddings import get_embedder

CACHE_SIZE = 64

_cache: "OrderedDict[tuple, IntentClassifier]" = OrderedDict()
_cache_lock = threading.Lock()
_training_locks: dict[tuple, threading.Lock] = {}


def workspace_intents(workspace_id: int) -> list[tuple[str, list[str]]]:
    """The workspace's custom intents as (name, examples), its description counting as one more example."""

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
