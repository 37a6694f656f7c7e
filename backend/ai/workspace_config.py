"""A workspace's assistant configuration as data: the WS.json of `simulate`, and the dashboard's export/import.

    {"name", "timezone", "ai_role", "ai_personality", "assistant_name", "custom_instructions",
     "reply_policy", "auto_send_threshold", "phone_region",
     "intents": [{"name", "examples": [...], "description"}],
     "context_fields": [{"key", "type", "description"}],                (the older format: one schema)
     "context_schemas": [{"key", "name", "description", "is_default",
                          "fields": [{"key", "label", "type", "description", "options", "required", "ai_extract"}],
                          "statuses": ["new", "qualified", …] (or [{"key", "initial"}]), "transitions": {"new": […]},
                          "complete_status"}],                                (the Context page's export)
     "kb_dir": "documents/"}                      (simulate only: a folder of documents to ingest)

The default schema is the one marked `"is_default": true`, else the first; `context_fields` alone becomes a
schema keyed "default". Keys of a schema the extractor does not use (show_if, min, max, …) are accepted as they
are: the context domain validates those.

`parse_config` validates everything and reports every problem with its JSON path; nothing is applied when any
is wrong. `apply_config` writes a parsed config to a workspace in one transaction.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlmodel import select

from backend.ai.classifiers import invalidate_workspace_classifier
from backend.ai.custom_intents import clean_intent, export_intents
from backend.ai.types import FieldSpec
from backend.ai.understanding.context_extraction.fields import LEGACY_TYPES, TYPES
from backend.ai.understanding.context_extraction.fields import ContextField as SchemaField
from backend.ai.understanding.context_extraction.track import ContextSchemaSpec
from backend.db import session_scope, tenant_select
from backend.errors import NotFound, ServiceError
from backend.models import AuditEvent, ContextField, ContextSchema, CustomIntent, Workspace
from backend.models.enums import AI_PERSONALITY_LABELS, AI_ROLE_LABELS, ReplyPolicy
from backend.models.types import utcnow

FORMAT_VERSION = 1
FIELD_TYPES = ("text", "number", "count", "date", "time", "datetime", "email", "phone", "money", "first_name",
               "last_name", "person_name", "choice", "boolean", "url")
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


class ConfigError(ServiceError):
    def __init__(self, problems: list[str]):
        super().__init__("The configuration has problems: " + "; ".join(problems), field="config")
        self.problems = problems


@dataclass
class WorkspaceConfig:
    name: str
    timezone: str = "UTC"
    ai_role: str = "general"
    ai_personality: str = "professional"
    assistant_name: str = "Ava"
    custom_instructions: str = ""
    reply_policy: str = ReplyPolicy.AUTO_ABOVE_THRESHOLD.value
    auto_send_threshold: float = 0.75
    phone_region: str = "US"
    intents: list[dict] = field(default_factory=list)  # [{"name", "examples", "description"}]
    context_fields: list[FieldSpec] = field(default_factory=list)
    context_schemas: list[ContextSchemaSpec] = field(default_factory=list)
    kb_dir: str = ""

    def schema(self, key: str | None = None) -> ContextSchemaSpec | None:
        """The schema named `key`, or the default one (None when the workspace tracks nothing)."""
        if key:
            return next((s for s in self.context_schemas if s.key == key), None)
        return next((s for s in self.context_schemas if s.is_default), None) or \
            (self.context_schemas[0] if self.context_schemas else None)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "format": FORMAT_VERSION, "name": self.name, "timezone": self.timezone, "ai_role": self.ai_role,
            "ai_personality": self.ai_personality, "assistant_name": self.assistant_name,
            "custom_instructions": self.custom_instructions, "reply_policy": self.reply_policy,
            "auto_send_threshold": self.auto_send_threshold, "phone_region": self.phone_region,
            "intents": self.intents,
            "context_fields": [{"key": f.key, "type": f.type, "description": f.description}
                               for f in self.context_fields],
        }
        # the schema the older `context_fields` became is written back as those fields, not twice
        schemas = [s for s in self.context_schemas if not (self.context_fields and s.key == "default")]
        if schemas:
            out["context_schemas"] = [schema_as_dict(s) for s in schemas]
        if self.kb_dir:
            out["kb_dir"] = self.kb_dir
        return out


def schema_as_dict(s: ContextSchemaSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": s.key, "name": s.name, "description": s.description, "is_default": s.is_default,
        "fields": [{"key": f.key, "label": f.label, "type": f.type, "description": f.description,
                    "options": list(f.options), "required": f.required, "ai_extract": f.ai_extract}
                   for f in s.fields],
        "statuses": list(s.statuses), "transitions": {k: list(v) for k, v in s.transitions.items()},
    }
    if s.complete_status:
        out["complete_status"] = s.complete_status
    return out


def _text(data: dict, key: str, problems: list[str], *, default: str = "", limit: int, required: bool = False
          ) -> str:
    value = data.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str):
        problems.append(f"{key}: must be text")
        return default
    value = value.strip()
    if required and not value:
        problems.append(f"{key}: is required")
    if len(value) > limit:
        problems.append(f"{key}: at most {limit} characters")
    return value


def parse_config(data: Any) -> WorkspaceConfig:
    if not isinstance(data, dict):
        raise ConfigError(["the configuration must be a JSON object"])
    problems: list[str] = []
    cfg = WorkspaceConfig(name=_text(data, "name", problems, limit=120, required=True))
    cfg.timezone = _text(data, "timezone", problems, default="UTC", limit=64) or "UTC"
    try:
        ZoneInfo(cfg.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"timezone: unknown time zone {cfg.timezone!r} (use a name like Europe/Berlin)")
    cfg.ai_role = _text(data, "ai_role", problems, default="general", limit=32) or "general"
    if cfg.ai_role not in AI_ROLE_LABELS:
        problems.append(f"ai_role: one of {', '.join(AI_ROLE_LABELS)}")
    cfg.ai_personality = _text(data, "ai_personality", problems, default="professional", limit=32) or "professional"
    if cfg.ai_personality not in AI_PERSONALITY_LABELS:
        problems.append(f"ai_personality: one of {', '.join(AI_PERSONALITY_LABELS)}")
    cfg.assistant_name = _text(data, "assistant_name", problems, default="Ava", limit=60) or "Ava"
    cfg.custom_instructions = _text(data, "custom_instructions", problems, limit=4000)
    cfg.reply_policy = _text(data, "reply_policy", problems, default=cfg.reply_policy, limit=32) or cfg.reply_policy
    if cfg.reply_policy not in {p.value for p in ReplyPolicy}:
        problems.append(f"reply_policy: one of {', '.join(p.value for p in ReplyPolicy)}")
    threshold = data.get("auto_send_threshold", cfg.auto_send_threshold)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 <= threshold <= 1:
        problems.append("auto_send_threshold: a number from 0 to 1")
    else:
        cfg.auto_send_threshold = float(threshold)
    cfg.phone_region = (_text(data, "phone_region", problems, default="US", limit=2) or "US").upper()
    cfg.kb_dir = _text(data, "kb_dir", problems, limit=1000)
    cfg.intents = _parse_intents(data.get("intents", []), problems)
    cfg.context_fields = _parse_fields(data.get("context_fields", []), problems)
    cfg.context_schemas = _parse_schemas(data.get("context_schemas", []), problems)
    if cfg.context_fields:
        if any(sc.key == "default" for sc in cfg.context_schemas):
            problems.append("context_fields: a schema keyed 'default' already exists in context_schemas")
        else:
            legacy = ContextSchemaSpec(key="default", name="Default", fields=tuple(
                SchemaField(key=f.key, label=f.key.replace("_", " ").capitalize(), type=f.type,
                             description=f.description) for f in cfg.context_fields),
                is_default=not cfg.context_schemas)
            cfg.context_schemas.append(legacy)
    if problems:
        raise ConfigError(problems)
    return cfg


def _parse_intents(items: Any, problems: list[str]) -> list[dict]:

    if not isinstance(items, list):
        problems.append("intents: must be a list")
        return []
    out, seen = [], set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"intents[{i}]: must be an object with name and examples")
            continue
        try:
            name, examples, description = clean_intent(item.get("name", ""), item.get("examples", []),
                                                       item.get("description", "") or "")
        except ServiceError as exc:
            problems.append(f"intents[{i}].{exc.field or 'name'}: {exc.message}")
            continue
        if name in seen:
            problems.append(f"intents[{i}].name: {name!r} appears twice")
            continue
        seen.add(name)
        out.append({"name": name, "examples": examples, "description": description})
    return out


def _parse_fields(items: Any, problems: list[str]) -> list[FieldSpec]:
    if not isinstance(items, list):
        problems.append("context_fields: must be a list")
        return []
    out, seen = [], set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"context_fields[{i}]: must be an object with key and type")
            continue
        key = str(item.get("key", "")).strip()
        ftype = str(item.get("type", "text")).strip().lower() or "text"
        description = str(item.get("description", "") or "").strip()
        if not _KEY.match(key):
            problems.append(f"context_fields[{i}].key: lower_snake_case, starting with a letter, ≤ 60 characters")
        elif key in seen:
            problems.append(f"context_fields[{i}].key: {key!r} appears twice")
        if ftype not in FIELD_TYPES:
            problems.append(f"context_fields[{i}].type: one of {', '.join(FIELD_TYPES)}")
        if len(description) > 500:
            problems.append(f"context_fields[{i}].description: at most 500 characters")
        seen.add(key)
        out.append(FieldSpec(key=key, type=ftype, description=description))
    return out


_SCHEMA_TYPES = TYPES + tuple(LEGACY_TYPES)


def _parse_schemas(items: Any, problems: list[str]) -> list[ContextSchemaSpec]:
    if not isinstance(items, list):
        problems.append("context_schemas: must be a list")
        return []
    out, seen, defaults = [], set(), 0
    for i, item in enumerate(items):
        where = f"context_schemas[{i}]"
        if not isinstance(item, dict):
            problems.append(f"{where}: must be an object with key, name and fields")
            continue
        key = item.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            problems.append(f"{where}.key: lower_snake_case, starting with a letter, ≤ 60 characters")
            key = str(key)
        elif key in seen:
            problems.append(f"{where}.key: {key!r} appears twice")
        seen.add(key)
        name = item.get("name", key)
        description = item.get("description", "") or ""
        if not isinstance(name, str) or not isinstance(description, str):
            problems.append(f"{where}: name and description must be text")
            name, description = str(name), ""
        is_default = item.get("is_default", False)
        if not isinstance(is_default, bool):
            problems.append(f"{where}.is_default: true or false")
            is_default = False
        defaults += is_default
        fields = _parse_schema_fields(item.get("fields"), where, problems)
        statuses, initial = _parse_statuses(item.get("statuses", []), where, problems)
        transitions = _parse_transitions(item.get("transitions", {}), statuses, where, problems)
        complete = item.get("complete_status", "") or ""
        if complete and complete not in statuses:
            problems.append(f"{where}.complete_status: {complete!r} is not one of the statuses")
        out.append(ContextSchemaSpec(key=key, name=name.strip() or key, description=description.strip(),
                                     fields=tuple(fields), statuses=tuple(statuses), transitions=transitions,
                                     initial_status=initial, complete_status=complete if isinstance(complete, str)
                                     else "", is_default=is_default))
    if defaults > 1:
        problems.append("context_schemas: only one schema may have \"is_default\": true")
    return out


def _parse_schema_fields(items: Any, where: str, problems: list[str]) -> list[SchemaField]:
    if not isinstance(items, list) or not items:
        problems.append(f"{where}.fields: a non-empty list of fields")
        return []
    out, seen = [], set()
    for j, item in enumerate(items):
        at = f"{where}.fields[{j}]"
        if not isinstance(item, dict):
            problems.append(f"{at}: must be an object with key and type")
            continue
        key = item.get("key")
        if not isinstance(key, str) or not _KEY.match(key):
            problems.append(f"{at}.key: lower_snake_case, starting with a letter, ≤ 60 characters")
            continue
        if key in seen:
            problems.append(f"{at}.key: {key!r} appears twice")
        seen.add(key)
        ftype = item.get("type", "text")
        if not isinstance(ftype, str) or ftype.strip().lower() not in _SCHEMA_TYPES:
            problems.append(f"{at}.type: one of {', '.join(TYPES)}")
            continue
        ftype = ftype.strip().lower()
        label, description = item.get("label", "") or "", item.get("description", "") or ""
        if not isinstance(label, str) or not isinstance(description, str):
            problems.append(f"{at}: label and description must be text")
            continue
        if len(description) > 1000:
            problems.append(f"{at}.description: at most 1000 characters")
        options = item.get("options", []) or []
        if not isinstance(options, list) or not all(isinstance(o, str) and o.strip() for o in options):
            problems.append(f"{at}.options: a list of non-empty strings")
            continue
        if len({o.strip().casefold() for o in options}) != len(options):
            problems.append(f"{at}.options: an option appears twice")
        if ftype in ("choice", "multi_choice") and not options:
            problems.append(f"{at}.options: a {ftype} field needs its options")
        flags = {}
        for flag, default in (("required", False), ("ai_extract", True)):
            value = item.get(flag, default)
            if not isinstance(value, bool):
                problems.append(f"{at}.{flag}: true or false")
                value = default
            flags[flag] = value
        out.append(SchemaField(key=key, label=label.strip(), type=ftype, description=description.strip(),
                                options=tuple(o.strip() for o in options), **flags))
    return out


def _parse_statuses(items: Any, where: str, problems: list[str]) -> tuple[list[str], str]:
    if not isinstance(items, list):
        problems.append(f"{where}.statuses: a list of status keys (or objects with a key)")
        return [], ""
    out, initial = [], ""
    for k, item in enumerate(items):
        if isinstance(item, dict):
            name = item.get("key") or item.get("name")
            if item.get("initial") is True:
                initial = str(name)
        else:
            name = item
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{where}.statuses[{k}]: a non-empty string (or an object with a key)")
            continue
        if name in out:
            problems.append(f"{where}.statuses[{k}]: {name!r} appears twice")
            continue
        out.append(name.strip())
    return out, initial


def _parse_transitions(items: Any, statuses: list[str], where: str, problems: list[str]) -> dict[str, tuple]:
    if not isinstance(items, dict):
        problems.append(f"{where}.transitions: an object from a status to the statuses it may move to")
        return {}
    out = {}
    for source, targets in items.items():
        if source not in statuses:
            problems.append(f"{where}.transitions.{source}: {source!r} is not one of the statuses")
            continue
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            problems.append(f"{where}.transitions.{source}: a list of statuses")
            continue
        unknown = [t for t in targets if t not in statuses]
        if unknown:
            problems.append(f"{where}.transitions.{source}: {', '.join(map(repr, unknown))} not among the statuses")
            continue
        out[source] = tuple(targets)
    return out


# --- reading and writing a workspace ---------------------------------------------------------------------------------


def export_config(workspace_id: int) -> dict[str, Any]:

    with session_scope() as session:
        ws = session.get(Workspace, workspace_id)
        if ws is None:
            raise NotFound("This workspace no longer exists.")
        cfg = WorkspaceConfig(
            name=ws.name, timezone=ws.timezone, ai_role=ws.ai_role, ai_personality=ws.ai_personality,
            assistant_name=ws.assistant_name, custom_instructions=ws.custom_instructions,
            reply_policy=ws.reply_policy, auto_send_threshold=float(ws.auto_send_threshold),
            phone_region=ws.phone_region,
        )
        cfg.context_fields = workspace_fields(session, workspace_id)
    cfg.intents = export_intents(workspace_id)
    return cfg.as_dict()


def workspace_fields(session, workspace_id: int) -> list[FieldSpec]:
    rows = session.exec(
        tenant_select(ContextField, workspace_id).join(ContextSchema, ContextSchema.id == ContextField.schema_id)
        .where(ContextSchema.is_default.is_(True), ContextField.active.is_(True))
        .order_by(ContextField.ordinal, ContextField.id)
    ).all()
    return [FieldSpec(key=f.key, type=f.field_type, description=f.description) for f in rows]


def apply_config(workspace_id: int, cfg: WorkspaceConfig, *, user_id: int | None = None,
                 replace_intents: bool = True) -> None:
    """Write the configuration to the workspace in one transaction (its name stays the owner's own)."""

    with session_scope() as session:
        ws = session.get(Workspace, workspace_id)
        if ws is None:
            raise NotFound("This workspace no longer exists.")
        for attr in ("timezone", "ai_role", "ai_personality", "assistant_name", "custom_instructions",
                     "reply_policy", "auto_send_threshold", "phone_region"):
            setattr(ws, attr, getattr(cfg, attr))
        ws.updated_at = utcnow()
        existing = {ci.name: ci for ci in session.exec(tenant_select(CustomIntent, workspace_id)).all()}
        wanted = {i["name"] for i in cfg.intents}
        if replace_intents:
            for name, row in existing.items():
                if name not in wanted:
                    session.delete(row)
        for item in cfg.intents:
            row = existing.get(item["name"])
            if row is None:
                session.add(CustomIntent(workspace_id=workspace_id, name=item["name"], examples=item["examples"],
                                         description=item.get("description", "")))
            else:
                row.examples, row.description = item["examples"], item.get("description", "")
        if cfg.context_fields:
            _apply_fields(session, workspace_id, cfg.context_fields)
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="assistant_config.imported"))
    invalidate_workspace_classifier(workspace_id)


def _apply_fields(session, workspace_id: int, fields: list[FieldSpec]) -> None:
    schema = session.exec(tenant_select(ContextSchema, workspace_id).where(ContextSchema.is_default.is_(True))
                          ).first()
    if schema is None:
        schema = ContextSchema(workspace_id=workspace_id, name="Default", is_default=True)
        session.add(schema)
        session.flush()
    existing = {f.key: f for f in session.exec(select(ContextField).where(ContextField.schema_id == schema.id))}
    for ordinal, spec in enumerate(fields):
        row = existing.get(spec.key)
        if row is None:
            session.add(ContextField(workspace_id=workspace_id, schema_id=schema.id, key=spec.key,
                                     label=spec.key.replace("_", " ").capitalize(), field_type=spec.type,
                                     description=spec.description, ordinal=ordinal))
        else:
            row.field_type, row.description, row.ordinal, row.active = spec.type, spec.description, ordinal, True
