"""Speech to text on real audio: the packaged Whisper tiny.en (faster-whisper) and the OpenAI-compatible client
against a real local transcription endpoint (ai_servers.stt_server: FastAPI + uvicorn, real multipart).

Test audio is spoken by espeak-ng, converted by sox to 16 kHz mono WAV, and re-encoded with PyAV into
ogg/opus, webm/opus (what browsers record), mp3 and m4a/aac.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from backend.providers.speech import (
    UNKNOWN_CONFIDENCE,
    LocalWhisper,
    OpenAITranscription,
    Transcript,
    TranscriptionError,
    get_transcriber,
    reset_transcriber_cache,
)
from tests.integration.helpers import free_ports

pytestmark = pytest.mark.integration

SENTENCE = "I would like to book a cleaning next Tuesday at ten"
NUMBER_WORDS = {"1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six", "7": "seven",
                "8": "eight", "9": "nine", "10": "ten", "11": "eleven", "12": "twelve"}


def words(text: str) -> list[str]:
    tokens = re.findall(r"[a-z0-9']+", text.lower())
    return [NUMBER_WORDS.get(t, t) for t in tokens]


def word_recall(expected: str, got: str) -> float:
    wanted = set(words(expected))
    return len(wanted & set(words(got))) / len(wanted)


def _run(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=30)


class _LiveSink(io.RawIOBase):
    """A write-only, non-seekable sink: the muxer cannot go back to write the duration, as with a browser's
    MediaRecorder, whose webm recordings carry no duration."""

    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, chunk) -> int:
        self.data += chunk
        return len(chunk)


def _encode(wav: Path, fmt: str, codec: str, rate: int, bit_rate: int | None = None, live: bool = False) -> bytes:
    import av

    sink = _LiveSink() if live else io.BytesIO()
    with av.open(sink, "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=rate)
        stream.layout = "mono"
        if bit_rate:
            stream.bit_rate = bit_rate
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
        with av.open(str(wav)) as source:
            frames = list(source.decode(audio=0)) + [None]
            for frame in frames:
                if frame is not None:
                    frame.pts = None
                for resampled in resampler.resample(frame):
                    for packet in stream.encode(resampled):
                        out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return bytes(sink.data) if live else sink.getvalue()


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> dict[str, bytes]:
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed; run scripts/setup_test_env.sh")
    folder = tmp_path_factory.mktemp("audio")
    _run(["espeak-ng", "-w", str(folder / "spoken.wav"), SENTENCE])
    _run(["sox", str(folder / "spoken.wav"), "-r", "16000", "-c", "1", "-b", "16", str(folder / "speech.wav")])
    _run(["sox", "-n", "-r", "16000", "-c", "1", "-b", "16", str(folder / "silence.wav"), "trim", "0", "4"])
    wav = folder / "speech.wav"
    return {
        "wav": wav.read_bytes(),
        "ogg": _encode(wav, "ogg", "libopus", 48000),
        "webm": _encode(wav, "webm", "libopus", 48000),
        "live-webm": _encode(wav, "webm", "libopus", 48000, live=True),
        "mp3": _encode(wav, "mp3", "libmp3lame", 16000, 64000),  # lame's default for 16 kHz is 8 kbit/s
        "m4a": _encode(wav, "ipod", "aac", 16000),
        "silence": (folder / "silence.wav").read_bytes(),
    }


@pytest.fixture(scope="module")
def whisper() -> LocalWhisper:
    model = LocalWhisper(threads=2, max_seconds=300)
    model.load()
    return model


@pytest.fixture
def _fresh_transcribers():
    reset_transcriber_cache()
    yield
    reset_transcriber_cache()


# --- the packaged Whisper ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["wav", "ogg", "webm", "live-webm", "mp3", "m4a"])
def test_local_whisper_transcribes_speech(whisper, audio, fmt):
    transcript = whisper.transcribe(audio[fmt], filename=f"voice.{fmt}")
    assert isinstance(transcript, Transcript)
    assert word_recall(SENTENCE, transcript.text) >= 0.8, transcript.text
    assert transcript.language == "en"
    assert transcript.confidence > 0.5
    assert 2.0 < transcript.duration_seconds < 5.0
    assert transcript.provider == "whisper-tiny.en"
    assert transcript.latency_ms > 0


def test_silence_gives_empty_text_and_no_confidence(whisper, audio):
    transcript = whisper.transcribe(audio["silence"])
    assert transcript.text == ""
    assert transcript.confidence == 0.0
    assert transcript.duration_seconds == pytest.approx(4.0, abs=0.1)


@pytest.mark.parametrize("data", [
    b"",
    b"this is not audio, just a text file that someone uploaded by mistake\n" * 40,
    bytes(range(256)) * 40,
    b"RIFF\x24\x00\x00\x00WAVEfmt ",  # a WAV header cut short
], ids=["empty", "text", "binary-garbage", "truncated-wav"])
def test_unreadable_audio_is_refused_with_a_reason(whisper, data):
    with pytest.raises(TranscriptionError) as caught:
        whisper.transcribe(data)
    assert caught.value.kind == "unreadable"
    assert not caught.value.retryable
    assert re.search(r"empty|corrupt|not an audio file|no audio|no decodable", str(caught.value))


def test_too_long_recordings_are_refused(configure, audio, _fresh_transcribers):
    import av

    with av.open(io.BytesIO(audio["live-webm"])) as container:
        assert container.duration is None  # nothing to read the length from before decoding
    configure(stt_provider=None, stt_max_seconds=2)
    transcriber = get_transcriber()
    assert isinstance(transcriber, LocalWhisper)
    for fmt in ("wav", "webm", "live-webm"):  # the live webm declares no duration: counted while decoding
        with pytest.raises(TranscriptionError) as caught:
            transcriber.transcribe(audio[fmt])
        assert caught.value.kind == "too_long"
        assert "limit is 2 s" in str(caught.value) and "ASSISTANT_STT_MAX_SECONDS" in str(caught.value)

    configure(stt_max_seconds=10)
    assert word_recall(SENTENCE, get_transcriber().transcribe(audio["wav"]).text) >= 0.8


def test_get_transcriber_follows_the_settings(configure, _fresh_transcribers):
    configure(stt_provider=None, stt_threads=2)
    local = get_transcriber()
    assert isinstance(local, LocalWhisper) and local.validate_config() == []
    assert get_transcriber() is local

    configure(stt_provider="openai", stt_base_url="http://127.0.0.1:9/v1", stt_model="whisper-1")
    remote = get_transcriber()
    assert isinstance(remote, OpenAITranscription) and remote.validate_config() == []

    configure(stt_provider="wishper")
    broken = get_transcriber()
    assert "unknown speech-to-text provider 'wishper'" in broken.validate_config()[0]
    with pytest.raises(TranscriptionError) as caught:
        broken.transcribe(b"...")
    assert caught.value.kind == "config"


# --- the OpenAI-compatible API ------------------------------------------------------------------------------


def _client(stt_server, **overrides) -> OpenAITranscription:
    options = dict(base_url=stt_server.base_url, api_key=stt_server.api_key, model="whisper-1", timeout=30,
                   max_retries=0, backoff_base=0.05)
    options.update(overrides)
    return OpenAITranscription(**options)


@pytest.mark.parametrize("fmt,content_type", [("wav", "audio/wav"), ("webm", "audio/webm;codecs=opus")])
def test_openai_transcription_over_http(stt_server, whisper, audio, fmt, content_type):
    client = _client(stt_server)
    before = len(stt_server.app.state.requests)
    transcript = client.transcribe(audio[fmt], content_type=content_type)
    client.close()
    assert word_recall(SENTENCE, transcript.text) >= 0.8, transcript.text
    assert transcript.language == "en"  # the API says "english"
    assert transcript.provider == "openai:whisper-1"
    local = whisper.transcribe(audio[fmt])
    assert transcript.confidence == pytest.approx(local.confidence, abs=0.02)  # same formula, same segments
    assert transcript.duration_seconds == pytest.approx(local.duration_seconds, abs=0.1)
    (request,) = stt_server.app.state.requests[before:]
    assert request["response_format"] == "verbose_json"
    assert request["filename"] == f"audio.{fmt}"  # an extension, so the API can tell the format
    assert request["content_type"] == content_type.split(";")[0]


def test_openai_transcription_falls_back_to_plain_json(stt_server, audio):
    client = _client(stt_server, model="json-only")
    transcript = client.transcribe(audio["wav"], filename="voice.wav")
    assert word_recall(SENTENCE, transcript.text) >= 0.8
    assert transcript.confidence == UNKNOWN_CONFIDENCE  # no segments to judge by
    formats = [r["response_format"] for r in stt_server.app.state.requests[-2:]]
    assert formats == ["verbose_json", "json"]
    client.transcribe(audio["wav"], filename="voice.wav")  # remembered: asks for json straight away
    assert stt_server.app.state.requests[-1]["response_format"] == "json"
    client.close()


def test_openai_transcription_silence_is_empty_not_an_error(stt_server, audio):
    transcript = _client(stt_server).transcribe(audio["silence"])
    assert transcript.text == "" and transcript.confidence == 0.0


def test_openai_transcription_wrong_key_is_an_auth_error(stt_server, audio):
    client = _client(stt_server, api_key="sk-wrong", max_retries=3)
    before = len(stt_server.app.state.requests)
    with pytest.raises(TranscriptionError) as caught:
        client.transcribe(audio["wav"])
    assert caught.value.kind == "auth" and caught.value.status_code == 401
    assert caught.value.attempts == 1 and not caught.value.retryable
    assert "ASSISTANT_STT_API_KEY" in str(caught.value)
    assert len(stt_server.app.state.requests) == before + 1  # not retried


def test_openai_transcription_timeout(stt_server, audio):
    client = _client(stt_server, model="slow-whisper", timeout=0.5, max_retries=1)
    started = time.perf_counter()
    with pytest.raises(TranscriptionError) as caught:
        client.transcribe(audio["wav"])
    assert caught.value.kind == "timeout" and caught.value.retryable
    assert caught.value.attempts == 2
    assert "did not answer within 0.5 s" in str(caught.value)
    assert time.perf_counter() - started < 2.9  # the server would have answered after 2 × 1.5 s


def test_openai_transcription_retries_server_errors(stt_server, audio):
    client = _client(stt_server, model="unavailable", max_retries=2)
    before = len(stt_server.app.state.requests)
    with pytest.raises(TranscriptionError) as caught:
        client.transcribe(audio["wav"])
    error = caught.value
    assert error.kind == "server" and error.status_code == 503
    assert error.attempts == 3 and len(error.retry_delays) == 2 and error.retry_delays[1] >= error.retry_delays[0]
    assert "overloaded" in str(error) and "gave up after 3 attempts" in str(error)
    assert len(stt_server.app.state.requests) == before + 3


def test_openai_transcription_checks_the_audio_before_uploading(stt_server, audio):
    client = _client(stt_server, max_seconds=2)
    before = len(stt_server.app.state.requests)
    with pytest.raises(TranscriptionError) as caught:
        client.transcribe(b"not audio at all" * 100)
    assert caught.value.kind == "unreadable"
    with pytest.raises(TranscriptionError) as caught:
        client.transcribe(audio["wav"])
    assert caught.value.kind == "too_long"
    assert len(stt_server.app.state.requests) == before  # nothing was sent


def test_openai_transcription_nothing_listening(audio):
    (port,) = free_ports(1)
    client = OpenAITranscription(base_url=f"http://127.0.0.1:{port}/v1", model="whisper-1", max_retries=1,
                                 backoff_base=0.05)
    with pytest.raises(TranscriptionError) as caught:
        client.transcribe(audio["wav"])
    assert caught.value.kind == "connection" and caught.value.attempts == 2
    assert "ASSISTANT_STT_BASE_URL" in str(caught.value)


def test_openai_transcription_validate_config():
    assert OpenAITranscription(base_url="http://127.0.0.1:8000/v1").validate_config() == []
    problems = OpenAITranscription(base_url="", model="").validate_config()
    assert any("ASSISTANT_STT_BASE_URL" in p for p in problems) and any("ASSISTANT_STT_MODEL" in p for p in problems)
    assert OpenAITranscription(base_url="https://api.openai.com/v1").validate_config() == [
        "transcription API key is not set (ASSISTANT_STT_API_KEY)"]
    with pytest.raises(TranscriptionError) as caught:
        OpenAITranscription(base_url="").transcribe(b"")
    assert caught.value.kind == "config"
