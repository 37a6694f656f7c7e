"""`python -m backend simulate --workspace WS.json --in IN.jsonl --out OUT.jsonl`: run conversations through the
assistant before going live, with no server.

The workspace (backend.ai.workspace_config format) is built in a throwaway SQLite database in a temporary
folder, its `kb_dir` documents ingested with the real processing, then every conversation of IN.jsonl goes
through the same engine the live pipeline uses. Input is checked in full before anything runs; OUT.jsonl is
written to a temporary file and moved into place at the end, so a failed run never leaves half an output.

IN.jsonl, one conversation per line:
    {"id": "c1", "now": "2026-11-26T10:00:00+01:00", "schema": "buyer",
     "turns": [{"role": "assistant", "text": "How many bedrooms?"}, {"text": "...", "requested": ["date"]}]}
  `schema` names one of the workspace's context schemas (default: its default schema); a turn's `role` is
  "customer" (the default) or "assistant": an assistant turn is taken as said by the assistant, the context of
  the next customer turn (as the assistant's own reply is when no assistant turn follows), and is not answered.
OUT.jsonl, one line per input line:
    {"id": "c1", "turns": [{"role": "customer", "intent": {"name", "confidence"},
                            "entities": [{"field", "value", "text", "start", "end", "confidence"}],
                            "reply": {"text", "action", "confidence", "citations": [...]},
                            "context": {"<field key>": {"value", "confidence", "evidence"}}, "status": "new"},
                           {"role": "assistant", "text": "...", "context": {...}, "status": "new"}]}
  `context` is the whole context after the turn (backend.ai.understanding.context_extraction.track: typed JSON
  values, the evidence an exact substring of a customer turn), fields with no value left out; `status` is there
  when the schema has a workflow: its initial status until every required field has a value, then the
  schema's `complete_status` or else the first status the initial one may move to (see track.status_for). With
  an LLM configured (and not `--embedded`) the context is read by one tool call per customer turn, by the rules
  when that fails. With `context_only` (`--context-only`), no reply is composed: customer turns carry only role,
  context and status, and no workspace is built.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

from backend.ai.workspace_config import ConfigError, WorkspaceConfig, parse_config

KB_SUFFIXES = {".pdf", ".docx", ".txt", ".md", ".markdown", ".html", ".htm", ".csv"}
# The throwaway workspace runs everything in this process, whatever the environment says.
_ISOLATED_ENV = {"ASSISTANT_DATABASE_URL": "", "ASSISTANT_CELERY_BROKER_URL": "", "ASSISTANT_REDIS_URL": "",
                 "ASSISTANT_S3_BUCKET": ""}


class InputError(ValueError):
    """The input files are wrong; the message names the file, line and field."""


@dataclass
class Conversation:
    id: str
    now: datetime
    turns: list[dict]
    schema: str = ""  # "" → the workspace's default schema


def load_workspace(path: Path) -> WorkspaceConfig:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from None
    try:
        cfg = parse_config(data)
    except ConfigError as exc:
        raise InputError(f"{path}: " + "; ".join(exc.problems)) from None
    if cfg.kb_dir:
        kb = Path(cfg.kb_dir)
        kb = kb if kb.is_absolute() else (path.parent / kb)
        if not kb.is_dir():
            raise InputError(f"{path}: kb_dir {cfg.kb_dir!r} is not a folder")
        cfg.kb_dir = str(kb.resolve())
    return cfg


def load_conversations(path: Path, timezone: str, schemas: tuple[str, ...] = ()) -> list[Conversation]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    out = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: not valid JSON ({exc.msg})") from None
        if not isinstance(item, dict):
            raise InputError(f"{where}: each line must be a JSON object")
        cid = item.get("id")
        if not isinstance(cid, (str, int)) or isinstance(cid, bool) or str(cid) == "":
            raise InputError(f"{where}: \"id\" must be a non-empty string")
        now = _parse_now(item.get("now"), timezone, where)
        turns = item.get("turns")
        if not isinstance(turns, list) or not turns:
            raise InputError(f"{where}: \"turns\" must be a non-empty list")
        schema = item.get("schema", "")
        if schema is None:
            schema = ""
        if not isinstance(schema, str):
            raise InputError(f"{where}: \"schema\" must be the key of one of the workspace's context schemas")
        if schema and schema not in schemas:
            known = ", ".join(schemas) if schemas else "the workspace defines none"
            raise InputError(f"{where}: \"schema\" {schema!r} is not one of the workspace's context schemas "
                             f"({known})")
        for t, turn in enumerate(turns):
            if not isinstance(turn, dict) or not isinstance(turn.get("text"), str):
                raise InputError(f"{where}: turns[{t}] must be an object with a \"text\" string")
            role = turn.get("role", "customer")
            if role not in ("customer", "assistant"):
                raise InputError(f"{where}: turns[{t}].role must be \"customer\" or \"assistant\"")
            requested = turn.get("requested", [])
            if requested is None:
                requested = []
            if not isinstance(requested, list) or not all(isinstance(r, str) for r in requested):
                raise InputError(f"{where}: turns[{t}].requested must be a list of field keys")
        if all(turn.get("role") == "assistant" for turn in turns):
            raise InputError(f"{where}: \"turns\" needs at least one customer turn")
        out.append(Conversation(id=str(cid), now=now, turns=turns, schema=schema))
    return out


def _parse_now(value: Any, timezone: str, where: str) -> datetime:
    if value is None:
        return datetime.now(ZoneInfo(timezone))
    if not isinstance(value, str):
        raise InputError(f"{where}: \"now\" must be an ISO-8601 date-time string")
    try:
        now = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{where}: \"now\" is not an ISO-8601 date-time: {value!r}") from None
    return now if now.tzinfo else now.replace(tzinfo=ZoneInfo(timezone))


def run(workspace_path: Path, in_path: Path, out_path: Path, *, use_llm: bool = True, context_only: bool = False,
        progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Simulate every conversation; returns counts (and each customer message's extraction time in ms, under
    "extract_ms"). Raises InputError before doing anything on bad input."""
    cfg = load_workspace(workspace_path)
    conversations = load_conversations(in_path, cfg.timezone, tuple(s.key for s in cfg.context_schemas))
    say = progress or (lambda _msg: None)
    turns = 0
    actions: dict[str, int] = {}
    extract_ms: list[float] = []
    out_tmp = out_path.with_name(f".{out_path.name}.partial")

    def write_all(simulate_one: Callable[[Conversation], dict[str, Any]]) -> None:
        nonlocal turns
        try:
            with out_tmp.open("w", encoding="utf-8") as out:
                for i, conversation in enumerate(conversations, 1):
                    line = simulate_one(conversation)
                    extract_ms.extend(line.pop("_extract_ms", []))
                    for turn in line["turns"]:
                        if "reply" in turn:
                            actions[turn["reply"]["action"]] = actions.get(turn["reply"]["action"], 0) + 1
                    turns += len(line["turns"])
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                    if i % 50 == 0 or i == len(conversations):
                        say(f"{i}/{len(conversations)} conversations")
            os.replace(out_tmp, out_path)
        finally:
            out_tmp.unlink(missing_ok=True)

    if context_only:
        write_all(lambda c: track_conversation(cfg, c))
    else:
        with tempfile.TemporaryDirectory(prefix="simulate-") as tmp:
            with _isolated_environment(tmp):
                workspace_id = _build_workspace(cfg, say)
                write_all(lambda c: simulate_conversation(workspace_id, cfg, c, use_llm=use_llm))
    return {"conversations": len(conversations), "turns": turns, "actions": actions, "extract_ms": extract_ms}


def _tracker(cfg: WorkspaceConfig, conversation: Conversation, llm=None):
    """The conversation's context tracker: the LLM's tool call when one is configured (the rules when it fails),
    else the rules."""
    from backend.ai.understanding.context_extraction.llm import llm_extractor
    from backend.ai.understanding.context_extraction.track import ContextTracker

    schema = cfg.schema(conversation.schema or None)
    if schema is None:
        return None
    if llm is not None:
        return ContextTracker(schema, timezone=cfg.timezone, phone_region=cfg.phone_region,
                              extract=llm_extractor(llm))
    return ContextTracker(schema, timezone=cfg.timezone, phone_region=cfg.phone_region)


def _with_context(out: dict[str, Any], tracker) -> dict[str, Any]:
    if tracker is None:
        out["context"] = {}
    else:
        out.update(tracker.snapshot())
    return out


def track_conversation(cfg: WorkspaceConfig, conversation: Conversation) -> dict[str, Any]:
    """The context after every turn, with no reply composed (`--context-only`)."""
    tracker = _tracker(cfg, conversation)
    turns = []
    for turn in conversation.turns:
        if turn.get("role") == "assistant":
            if tracker is not None:
                tracker.assistant(turn["text"])
            turns.append(_with_context({"role": "assistant", "text": turn["text"]}, tracker))
            continue
        if tracker is not None:
            tracker.customer(turn["text"], now=conversation.now, requested=tuple(turn.get("requested") or ()))
        turns.append(_with_context({"role": "customer"}, tracker))
    return {"id": conversation.id, "turns": turns, "_extract_ms": tracker.extract_ms if tracker else []}


def simulate_conversation(workspace_id: int, cfg: WorkspaceConfig, conversation: Conversation, *,
                          use_llm: bool = True) -> dict[str, Any]:
    from backend.ai.classifiers import classifier_for_workspace
    from backend.ai.engine import EngineConfig, respond
    from backend.ai.pipeline import persona_of
    from backend.ai.retrieval import retrieve
    from backend.ai.types import Turn
    from backend.ai.understanding.entities import DEFAULT_FIELDS
    from backend.db import session_scope
    from backend.models import Workspace
    from backend.providers.llm import get_llm

    with session_scope() as session:
        persona = persona_of(session.get(Workspace, workspace_id))
    config = EngineConfig(persona=persona, reply_policy=cfg.reply_policy,
                          auto_send_threshold=cfg.auto_send_threshold, phone_region=cfg.phone_region,
                          fields=tuple(cfg.context_fields) or DEFAULT_FIELDS)
    classifier = classifier_for_workspace(workspace_id)
    llm = get_llm() if use_llm else None
    tracker = _tracker(cfg, conversation, llm)
    history: list[Turn] = []
    turns = []
    for turn in conversation.turns:
        text = turn["text"]
        if turn.get("role") == "assistant":
            history.append(Turn("assistant", text))
            if tracker is not None:
                tracker.assistant(text)
            turns.append(_with_context({"role": "assistant", "text": text}, tracker))
            continue
        requested = tuple(turn.get("requested") or ())
        result = respond(config, text, now=conversation.now, history=history, requested=requested,
                         classify=classifier.classify, retrieve=lambda q, intent: retrieve(workspace_id, q, intent),
                         llm=llm)
        if tracker is not None:
            tracker.customer(text, now=conversation.now, requested=requested)
        turns.append(_with_context({
            "role": "customer",
            "intent": result.intent.as_dict(),
            "entities": [e.as_dict() for e in result.entities],
            "reply": {"text": result.reply.text, "action": result.decision.action,
                      "confidence": round(result.reply.confidence, 4),
                      "citations": [c.as_dict() for c in result.reply.citations],
                      "reason": result.decision.reason},
        }, tracker))
        history.append(Turn("customer", text))
        if result.decision.deliver:
            history.append(Turn("assistant", result.reply.text))
            if tracker is not None:
                tracker.assistant(result.reply.text)
    return {"id": conversation.id, "turns": turns, "_extract_ms": tracker.extract_ms if tracker else []}


class _isolated_environment:
    """Point settings, engines and caches at a throwaway data folder, and back again afterwards."""

    def __init__(self, data_dir: str):
        self.data_dir = data_dir
        self.saved: dict[str, str | None] = {}

    def __enter__(self):
        env = dict(_ISOLATED_ENV, ASSISTANT_DATA_DIR=self.data_dir)
        for key, value in env.items():
            self.saved[key] = os.environ.get(key)
            os.environ[key] = value
        self._reset()
        return self

    def __exit__(self, *exc):
        from backend.providers.background import wait_until_idle

        wait_until_idle(30)
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        self._reset()
        return False

    @staticmethod
    def _reset() -> None:
        from backend.db import dispose_engines
        from backend.settings import reset_settings_cache

        dispose_engines()
        reset_settings_cache()
        for reset in _cache_resets():
            reset()


def _cache_resets() -> list[Callable[[], None]]:
    resets = []
    from backend.kb import search

    resets.append(search.clear_caches)
    try:
        from backend.ai.classifiers import clear_classifier_cache
        resets.append(clear_classifier_cache)
    except ImportError:
        pass
    return resets


def _build_workspace(cfg: WorkspaceConfig, say: Callable[[str], None]) -> int:
    from backend.ai.workspace_config import apply_config
    from backend.db import session_scope
    from backend.migrations import upgrade_to_head
    from backend.models import Workspace

    upgrade_to_head()
    with session_scope() as session:
        ws = Workspace(name=cfg.name, slug="simulation", timezone=cfg.timezone, phone_region=cfg.phone_region)
        session.add(ws)
        session.flush()
        workspace_id = ws.id
    apply_config(workspace_id, cfg)
    if cfg.kb_dir:
        _ingest(workspace_id, Path(cfg.kb_dir), say)
    return workspace_id


def _ingest(workspace_id: int, folder: Path, say: Callable[[str], None]) -> None:
    from backend.kb.documents import get_document, upload_document
    from backend.providers.background import wait_until_idle

    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in KB_SUFFIXES)
    ids = []
    for path in files:
        try:
            ids.append(upload_document(workspace_id, path.name, path.read_bytes()).id)
        except Exception as exc:  # one bad document must not stop the others; say which and why
            say(f"skipped {path.name}: {getattr(exc, 'message', exc)}")
    wait_until_idle(600)
    for document_id in ids:
        doc = get_document(workspace_id, document_id)
        state = doc.status if doc.status == "ready" else f"{doc.status}: {doc.error}"
        say(f"knowledge: {doc.title} — {state}, {doc.chunk_count} passages")


def main(args) -> int:
    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    try:
        summary = run(Path(args.workspace), Path(args.input), Path(args.output), use_llm=not args.embedded,
                      context_only=getattr(args, "context_only", False), progress=say)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    say(f"wrote {summary['conversations']} conversations ({summary['turns']} turns) to {args.output}"
        + (": " + ", ".join(f"{k} {v}" for k, v in sorted(summary["actions"].items())) if summary["actions"] else ""))
    return 0

