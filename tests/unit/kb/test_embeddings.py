"""Embedders: the packaged MiniLM for real, and the OpenAI-compatible client against a real local HTTP server."""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.providers.embeddings import (
    EmbeddingError,
    LocalMiniLM,
    OpenAIEmbeddings,
    UnknownEmbedder,
    get_embedder,
)
from tests.unit.messaging_helpers import settings_override


def _dot(a, b) -> float:
    return sum(x * y for x, y in zip(a, b))


# --- packaged MiniLM ---------------------------------------------------------------------------------------


def test_minilm_gives_384_dimensional_unit_vectors():
    vectors = LocalMiniLM().embed(["When are you open on Saturdays?", "", "Ünïcödé ✓ 東京"])
    assert len(vectors) == 3
    for vector in vectors:
        assert len(vector) == 384
        assert math.isclose(math.sqrt(_dot(vector, vector)), 1.0, abs_tol=1e-4)


def test_minilm_scores_paraphrases_above_unrelated_text():
    query, paraphrase, unrelated, other = LocalMiniLM().embed([
        "How much does a haircut cost?",
        "Our price for cutting hair is 25 dollars.",
        "Parking is available behind the building.",
        "The invoice must be paid by bank transfer within 30 days.",
    ])
    assert _dot(query, paraphrase) > 0.5
    assert _dot(query, paraphrase) > _dot(query, unrelated) + 0.2
    assert _dot(query, paraphrase) > _dot(query, other) + 0.2


def test_minilm_batches_keep_the_callers_order_and_match_single_texts():
    embedder = LocalMiniLM()
    texts = [("word " * (i % 5 * 10 + 1)) + f"item {i}" for i in range(40)]  # mixed lengths, over two batches
    batched = embedder.embed(texts)
    for index in (0, 33, 39):
        single = embedder.embed([texts[index]])[0]
        assert _dot(batched[index], single) > 0.999


def test_minilm_truncates_long_texts_instead_of_failing():
    vector = LocalMiniLM().embed(["opening hours " * 2000])[0]
    assert len(vector) == 384


def test_minilm_is_safe_to_call_from_several_threads():
    embedder = LocalMiniLM()
    texts = [f"Question number {i} about appointments" for i in range(8)]
    expected = embedder.embed(texts)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda t: embedder.embed([t])[0], texts))
    for got, want in zip(results, expected):
        assert _dot(got, want) > 0.999


def test_minilm_refuses_wrong_input_and_handles_nothing():
    embedder = LocalMiniLM()
    assert embedder.embed([]) == []
    with pytest.raises(TypeError):
        embedder.embed("one string")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        embedder.embed([1, 2])  # type: ignore[list-item]


def test_minilm_reports_a_vector_size_the_database_does_not_store():
    assert LocalMiniLM().validate_config() == []
    with settings_override(embedding_dim=768):
        problems = LocalMiniLM().validate_config()
    assert problems and "768" in problems[0]


def test_get_embedder_follows_the_settings():
    assert isinstance(get_embedder(), LocalMiniLM)
    assert get_embedder() is get_embedder()
    with settings_override(embeddings_provider="openai", embeddings_base_url="http://127.0.0.1:9/v1",
                           embeddings_model="m", embedding_dim=384):
        embedder = get_embedder()
        assert isinstance(embedder, OpenAIEmbeddings) and embedder.url == "http://127.0.0.1:9/v1/embeddings"
    with settings_override(embeddings_provider="cohere"):
        embedder = get_embedder()
        assert isinstance(embedder, UnknownEmbedder)
        with pytest.raises(EmbeddingError, match="unknown embeddings provider 'cohere'"):
            embedder.embed(["x"])


# --- OpenAI-compatible API, against a real server ----------------------------------------------------------


class _StandIn(BaseHTTPRequestHandler):
    """An OpenAI-style /v1/embeddings server. Behaviour is set per test on the server object."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        server = self.server
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        server.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
        script = server.script.pop(0) if server.script else "ok"
        if script == "slow":
            time.sleep(1.0)
            script = "ok"
        if script == "500":
            return self._send(500, {"error": {"message": "upstream overloaded"}})
        if script == "429":
            return self._send(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"})
        if script == "401":
            return self._send(401, {"error": {"message": "Incorrect API key provided"}})
        if script == "no-dimensions" and "dimensions" in body:
            return self._send(400, {"error": {"message": "This model does not support specifying dimensions."}})
        if script == "garbage":
            return self._send(200, {"object": "list", "data": "nope"})
        if self.path != "/v1/embeddings":
            return self._send(404, {"error": {"message": "Not found"}})
        dim = body.get("dimensions", server.native_dim)
        data = []
        for index, text in enumerate(body["input"]):
            # Deterministic, deliberately not normalised, and listed in reverse order.
            vector = [float((len(text) + index + k) % 5 + 1) for k in range(dim)]
            data.append({"object": "embedding", "index": index, "embedding": vector})
        self._send(200, {"object": "list", "data": list(reversed(data)), "model": body["model"]})

    def _send(self, status, payload, headers=None):
        raw = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout test)


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    server.requests, server.script, server.native_dim = [], [], 384
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(server, **kwargs) -> OpenAIEmbeddings:
    options = {"api_key": "sk-test", "model": "text-embedding-3-small", "dim": 384, "timeout": 5.0,
               "retry_delays": (0.01, 0.01, 0.01)}
    options.update(kwargs)
    return OpenAIEmbeddings(f"http://127.0.0.1:{server.server_address[1]}/v1", **options)


def test_openai_embeddings_send_model_dimensions_and_key_and_normalise_in_order(api):
    vectors = _client(api).embed(["a", "bb", "ccc"])
    request = api.requests[0]
    assert request["path"] == "/v1/embeddings" and request["auth"] == "Bearer sk-test"
    assert request["body"]["model"] == "text-embedding-3-small" and request["body"]["dimensions"] == 384
    assert request["body"]["input"] == ["a", "bb", "ccc"]
    assert len(vectors) == 3 and all(len(v) == 384 for v in vectors)
    for vector in vectors:
        assert math.isclose(_dot(vector, vector), 1.0, rel_tol=1e-9)
    # The server answered in reverse order; each vector is put back where its text was.
    for index, text in enumerate(["a", "bb", "ccc"]):
        raw = [float((len(text) + index + k) % 5 + 1) for k in range(384)]
        norm = math.sqrt(_dot(raw, raw))
        assert vectors[index] == pytest.approx([x / norm for x in raw])


def test_openai_embeddings_never_send_contact_details_unless_told_to(api):
    texts = ["Email jo@example.com or call +1 212 555 0147", "Opening hours: 9-5, order #123456789"]
    _client(api).embed(texts)
    assert api.requests[-1]["body"]["input"] == ["Email [EMAIL_1] or call [PHONE_1]",
                                                 "Opening hours: 9-5, order #123456789"]
    _client(api, redact=False).embed(texts)
    assert api.requests[-1]["body"]["input"] == texts


def test_openai_embeddings_batch_large_inputs(api):
    vectors = _client(api).embed([f"text {i}" for i in range(150)])
    assert len(vectors) == 150
    assert [len(r["body"]["input"]) for r in api.requests] == [64, 64, 22]


def test_openai_embeddings_retry_server_errors_and_rate_limits(api):
    api.script = ["500", "429"]
    assert len(_client(api).embed(["hello"])) == 1
    assert len(api.requests) == 3


def test_openai_embeddings_give_up_with_the_servers_reason(api):
    api.script = ["500"] * 10
    with pytest.raises(EmbeddingError, match=r"HTTP 500.*upstream overloaded.*gave up after 4 tries"):
        _client(api).embed(["hello"])
    assert len(api.requests) == 4


def test_openai_embeddings_do_not_retry_a_refused_key(api):
    api.script = ["401"]
    with pytest.raises(EmbeddingError, match=r"HTTP 401.*Incorrect API key.*ASSISTANT_EMBEDDINGS_API_KEY"):
        _client(api).embed(["hello"])
    assert len(api.requests) == 1


def test_openai_embeddings_fall_back_when_the_model_has_a_fixed_size(api):
    api.script = ["no-dimensions", "no-dimensions"]
    client = _client(api)
    assert len(client.embed(["hello"])[0]) == 384
    assert "dimensions" in api.requests[0]["body"] and "dimensions" not in api.requests[1]["body"]
    client.embed(["again"])  # remembered: no second refusal
    assert "dimensions" not in api.requests[2]["body"]


def test_openai_embeddings_refuse_vectors_of_the_wrong_size(api):
    api.script = ["no-dimensions", "no-dimensions"]
    api.native_dim = 1536
    with pytest.raises(EmbeddingError, match="returned 1536-dimensional vectors but the knowledge base stores 384"):
        _client(api).embed(["hello"])


def test_openai_embeddings_explain_a_malformed_answer_and_a_wrong_url(api):
    api.script = ["garbage"]
    with pytest.raises(EmbeddingError, match="not an embeddings list"):
        _client(api).embed(["hello"])
    client = OpenAIEmbeddings(f"http://127.0.0.1:{api.server_address[1]}/api", model="m", dim=384,
                              retry_delays=())
    with pytest.raises(EmbeddingError, match=r"HTTP 404.*ASSISTANT_EMBEDDINGS_BASE_URL"):
        client.embed(["hello"])


def test_openai_embeddings_time_out_and_report_an_unreachable_server(api):
    api.script = ["slow", "slow"]
    with pytest.raises(EmbeddingError, match="could not reach the embeddings API"):
        _client(api, timeout=0.2, retry_delays=(0.01,)).embed(["hello"])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = OpenAIEmbeddings(f"http://127.0.0.1:{closed_port}/v1", model="m", dim=384, retry_delays=(0.01,))
    with pytest.raises(EmbeddingError, match=r"could not reach the embeddings API at http://127\.0\.0\.1.*2 tries"):
        client.embed(["hello"])


def test_openai_embeddings_validate_their_settings():
    assert OpenAIEmbeddings("https://api.openai.com/v1", api_key="k", model="m", dim=384).validate_config() == []
    problems = OpenAIEmbeddings("api.openai.com", api_key="", model="", dim=384).validate_config()
    assert any("must start with http" in p for p in problems)
    assert any("ASSISTANT_EMBEDDINGS_MODEL" in p for p in problems)
    problems = OpenAIEmbeddings("https://api.openai.com/v1", model="m", dim=384).validate_config()
    assert problems == ["embeddings API key is not set (ASSISTANT_EMBEDDINGS_API_KEY)"]
    # A local server (Ollama, vLLM) needs no key.
    assert OpenAIEmbeddings("http://localhost:11434/v1", model="nomic", dim=384).validate_config() == []
    with pytest.raises(EmbeddingError, match="not configured"):
        OpenAIEmbeddings("nowhere", model="m", dim=384).embed(["x"])


def test_recent_texts_are_embedded_once_across_callers():
    from backend.providers.embeddings import embed_cached, get_embedder

    class Counting:
        name, dim = "counting-minilm", 384

        def __init__(self):
            self.seen: list[str] = []

        def embed(self, texts):
            self.seen.extend(texts)
            return get_embedder().embed(texts)

    counting = Counting()
    first = embed_cached(counting, ["How much is a cleaning?", "Opening hours"])
    again = embed_cached(counting, ["How much is a cleaning?", "Parking", "Opening hours"])
    assert counting.seen == ["How much is a cleaning?", "Opening hours", "Parking"]
    assert (first[0] == again[0]).all() and (first[1] == again[2]).all() and again.shape == (3, 384)
    assert embed_cached(counting, []).shape == (0, 384)
