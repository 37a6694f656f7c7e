"""A workspace's own intents ("custom intents"): a name and a handful of example messages each.

The dashboard and the API list, save, delete, export and import them here. Every change makes the workspace's
intent classifier retrain on its next message (`backend.ai.classifiers.classifier_for_workspace` keys its cache on a
fingerprint of the intents; the old one is dropped here at once to free its memory).

Rules (each refusal is a ServiceError naming the field):
  * name: 1–60 characters once normalised to lower_snake_case ("Card arrival" → "card_arrival"), starting with a
    letter; not a built-in intent's name, not another of the workspace's intents;
  * examples: 3 to 50 distinct non-empty lines (blank lines and repeats are dropped), each at most 300 characters;
  * description: at most 300 characters (it also counts as one more example for the classifier).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Iterable, Sequence

from sqlalchemy.exc import IntegrityError

from backend.ai.classifiers import invalidate_workspace_classifier
from backend.ai.understanding.intents import BUILTIN_NAMES
from backend.db import session_scope, tenant_get, tenant_select
from backend.errors import NotFound, ServiceError
from backend.models import AuditEvent, CustomIntent

NAME_MAX = 60
DESCRIPTION_MAX = 300
EXAMPLE_MAX = 300
MIN_EXAMPLES = 3
MAX_EXAMPLES = 50
MAX_INTENTS = 200  # per workspace

_NON_WORD = re.compile(r"[^a-z0-9]+")
_SPACE = re.compile(r"\s+")


def normalise_name(name: Any) -> str:
    """"Card arrival!" → "card_arrival"; accents are dropped ("Résiliation" → "resiliation")."""
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode("ascii")
    return _NON_WORD.sub("_", text.lower()).strip("_")


def clean_name(name: Any) -> str:

    raw = str(name or "").strip()
    if not raw:
        raise ServiceError("Give the intent a name.", field="name")
    normal = normalise_name(raw)
    if not normal:
        raise ServiceError("The name needs at least one letter or digit (e.g. card_arrival).", field="name")
    if len(normal) > NAME_MAX:
        raise ServiceError(f"The name is too long: at most {NAME_MAX} characters.", field="name")
    if not normal[0].isalpha():
        raise ServiceError("The name must start with a letter (e.g. card_arrival).", field="name")
    if normal in BUILTIN_NAMES:
        raise ServiceError(f"“{normal}” is a built-in intent; choose another name (e.g. {normal}_request).",
                           field="name")
    return normal


def clean_examples(examples: Any) -> list[str]:
    if isinstance(examples, str):
        examples = examples.splitlines()
    if not isinstance(examples, (list, tuple)):
        raise ServiceError("Examples must be a list of messages, one per line.", field="examples")
    out: list[str] = []
    seen: set[str] = set()
    for number, example in enumerate(examples, start=1):
        if not isinstance(example, str):
            raise ServiceError(f"Example {number} is not text.", field="examples")
        text = _SPACE.sub(" ", example).strip()
        if not text:
            continue
        if len(text) > EXAMPLE_MAX:
            raise ServiceError(f"Example {number} is too long ({len(text)} characters; at most {EXAMPLE_MAX}).",
                               field="examples")
        key = text.lower()
        if key not in seen:
            seen.add(key)
            out.append(text)
    if len(out) < MIN_EXAMPLES:
        raise ServiceError(f"Give at least {MIN_EXAMPLES} different example messages (one per line); "
                           f"{len(out)} given.", field="examples")
    if len(out) > MAX_EXAMPLES:
        raise ServiceError(f"At most {MAX_EXAMPLES} example messages; {len(out)} given.", field="examples")
    return out


def clean_description(description: Any) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise ServiceError("The description must be text.", field="description")
    text = _SPACE.sub(" ", description).strip()
    if len(text) > DESCRIPTION_MAX:
        raise ServiceError(f"The description is too long: at most {DESCRIPTION_MAX} characters.",
                           field="description")
    return text


def clean_intent(name: Any, examples: Any, description: Any = "") -> tuple[str, list[str], str]:
    """(name, examples, description) validated and normalised; ServiceError(field=...) at the first problem."""
    return clean_name(name), clean_examples(examples), clean_description(description)


def _as_dict(row: CustomIntent) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "label": row.name.replace("_", " "), "description": row.description,
            "examples": list(row.examples or []),
            "created_at": row.created_at.isoformat() if row.created_at else None}


def _invalidate(workspace_id: int) -> None:

    invalidate_workspace_classifier(workspace_id)


# --- the service ---------------------------------------------------------------------------------------------------


def list_custom_intents(workspace_id: int) -> list[dict[str, Any]]:
    """The workspace's custom intents by name: {"id", "name", "label", "description", "examples", "created_at"}."""
    with session_scope() as session:
        rows = session.exec(tenant_select(CustomIntent, workspace_id).order_by(CustomIntent.name)).all()
        return [_as_dict(r) for r in rows]


def save_custom_intent(workspace_id: int, *, name: Any, examples: Any, description: Any = "",
                       intent_id: int | None = None, user_id: int | None = None) -> dict[str, Any]:
    """Create (intent_id None) or update one custom intent; returns it as `list_custom_intents` does."""
    name, examples, description = clean_intent(name, examples, description)
    try:
        with session_scope() as session:
            clash = session.exec(tenant_select(CustomIntent, workspace_id).where(CustomIntent.name == name)).first()
            if intent_id is None:
                if clash is not None:
                    raise ServiceError(f"You already have an intent named “{name}”.", field="name")
                count = len(session.exec(tenant_select(CustomIntent, workspace_id)).all())
                if count >= MAX_INTENTS:
                    raise ServiceError(f"A workspace can have at most {MAX_INTENTS} custom intents.", field="name")
                row = CustomIntent(workspace_id=workspace_id, name=name, examples=examples, description=description)
                session.add(row)
                action = "intent.created"
            else:
                row = tenant_get(session, CustomIntent, workspace_id, int(intent_id))
                if row is None:
                    raise NotFound("This intent no longer exists.")
                if clash is not None and clash.id != row.id:
                    raise ServiceError(f"You already have an intent named “{name}”.", field="name")
                row.name, row.examples, row.description = name, examples, description
                session.add(row)
                action = "intent.updated"
            session.flush()
            session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action=action, detail=name))
            result = _as_dict(row)
    except IntegrityError as exc:  # a concurrent save took the name between the check and the insert
        raise ServiceError(f"You already have an intent named “{name}”.", field="name") from exc
    _invalidate(workspace_id)
    return result


def delete_custom_intent(workspace_id: int, intent_id: int, *, user_id: int | None = None) -> None:
    with session_scope() as session:
        row = tenant_get(session, CustomIntent, workspace_id, int(intent_id))
        if row is None:
            raise NotFound("This intent no longer exists.")
        session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="intent.deleted", detail=row.name))
        session.delete(row)
    _invalidate(workspace_id)


def export_intents(workspace_id: int) -> list[dict[str, Any]]:
    """[{"name", "description", "examples"}], by name: what `import_intents` takes back."""
    return [{"name": i["name"], "description": i["description"], "examples": i["examples"]}
            for i in list_custom_intents(workspace_id)]


def validate_import(items: Any) -> list[tuple[str, list[str], str]]:
    """Every item cleaned, or one ServiceError listing every problem (field "intents")."""
    if not isinstance(items, (list, tuple)):
        raise ServiceError("Intents must be a list of {name, examples, description} objects.", field="intents")
    problems: list[str] = []
    cleaned: list[tuple[str, list[str], str]] = []
    seen: set[str] = set()
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            problems.append(f"intent {index + 1}: must be an object with a name and examples")
            continue
        label = str(item.get("name") or f"#{index + 1}")
        try:
            name, examples, description = clean_intent(item.get("name"), item.get("examples"),
                                                       item.get("description", ""))
        except ServiceError as exc:
            problems.append(f"intent “{label}” ({exc.field}): {exc.message}")
            continue
        if name in seen:
            problems.append(f"intent “{label}”: the name “{name}” appears twice")
            continue
        seen.add(name)
        cleaned.append((name, examples, description))
    if len(cleaned) > MAX_INTENTS:
        problems.append(f"at most {MAX_INTENTS} intents per workspace")
    if problems:
        raise ServiceError("Nothing was imported. " + "; ".join(problems), field="intents")
    return cleaned


def import_intents(workspace_id: int, items: Sequence[dict] | Iterable[dict], replace: bool = False, *,
                   user_id: int | None = None) -> dict[str, int]:
    """Add or update intents by name, all or nothing; with replace=True the workspace's other intents go.

    Returns {"created", "updated", "deleted"} counts.
    """
    cleaned = validate_import(list(items) if not isinstance(items, (list, tuple)) else items)
    counts = {"created": 0, "updated": 0, "deleted": 0}
    try:
        with session_scope() as session:
            existing = {r.name: r for r in session.exec(tenant_select(CustomIntent, workspace_id)).all()}
            wanted = {name for name, _, _ in cleaned}
            if replace:
                for name, row in existing.items():
                    if name not in wanted:
                        session.delete(row)
                        counts["deleted"] += 1
                session.flush()
            kept = len(existing) - counts["deleted"]
            if kept + sum(1 for n in wanted if n not in existing) > MAX_INTENTS:
                raise ServiceError(f"Nothing was imported: a workspace can have at most {MAX_INTENTS} custom "
                                   "intents.", field="intents")
            for name, examples, description in cleaned:
                row = existing.get(name)
                if row is None:
                    session.add(CustomIntent(workspace_id=workspace_id, name=name, examples=examples,
                                             description=description))
                    counts["created"] += 1
                else:
                    row.examples, row.description = examples, description
                    session.add(row)
                    counts["updated"] += 1
            session.flush()
            session.add(AuditEvent(workspace_id=workspace_id, user_id=user_id, action="intents.imported",
                                   detail=f"{counts['created']} created, {counts['updated']} updated, "
                                          f"{counts['deleted']} deleted"))
    except IntegrityError as exc:
        raise ServiceError("Nothing was imported: the intents changed meanwhile; try again.",
                           field="intents") from exc
    _invalidate(workspace_id)
    return counts
