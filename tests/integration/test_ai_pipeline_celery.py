"""The AI pipeline on real infrastructure: a customer's message stored here is answered by a Celery worker
process (on Redis, writing to PostgreSQL) that also indexed the knowledge the answer comes from."""

from __future__ import annotations

from sqlmodel import select

from backend.db import session_scope
from backend.kb.documents import add_faq
from backend.messaging import portal
from backend.models import AIRun, KnowledgeDocument, Message, Workspace
from tests.integration.helpers import wait_until
from tests.unit.messaging_helpers import make_workspace


def test_a_celery_worker_indexes_the_knowledge_and_answers_the_customer(pg_db, configure, celery_worker):
    configure(celery_broker_url=celery_worker.broker_url)
    biz = make_workspace("celery-dental", "Celery Dental", ai=True)
    with session_scope() as s:
        s.get(Workspace, biz.id).reply_policy = "always_send"
    doc = add_faq(biz.id, "How much does a cleaning cost?", "A standard cleaning costs $95.")

    def ready():
        with session_scope() as s:
            return s.get(KnowledgeDocument, doc.id).status == "ready"

    wait_until(ready, timeout=90, what=f"the worker to index the FAQ (log: {celery_worker.log_path})")

    token = portal.identify_customer(biz.slug, "+12025550160").session_token
    sent = portal.send_customer_message(token, "How much is a cleaning?")

    def answered():
        with session_scope() as s:
            run = s.exec(select(AIRun).where(AIRun.message_id == sent.id)).first()
            return run if run is not None and run.status == "done" else None

    run = wait_until(answered, timeout=90, what=f"the worker to answer (log: {celery_worker.log_path})")
    with session_scope() as s:
        reply = s.get(Message, run.reply_message_id)
    assert run.action == "send" and "$95" in reply.content and reply.sender == "assistant"
    log = celery_worker.log_path.read_text()
    assert "ai_process_message" in log and "process_document" in log
