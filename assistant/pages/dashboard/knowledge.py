"""Knowledge: the documents the assistant answers from, their live processing state, and a retrieval test."""

from __future__ import annotations

import reflex as rx

from assistant.components.dialogs import confirm_dialog
from assistant.components.forms import form_alert
from assistant.components.layout import dashboard_shell, empty_state, page_header
from assistant.live import registry
from assistant.pages.dashboard.knowledge_gaps import gaps_card
from assistant.state.auth import OwnerState
from assistant.state.handlers import off_loop, read_upload, service_event
from backend.core.live_events import workspace_channel
from backend.errors import AuthenticationError, ServiceError
from backend.kb import documents
from backend.settings import get_settings

UPLOAD_ID = "kb-upload"
_STATUS_COLORS = {"ready": "green", "failed": "red", "quarantined": "crimson", "queued": "gray", "extracting": "amber",
                  "embedding": "blue"}
_SETTLED = ("ready", "failed", "quarantined")


def _size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{size // 1024} KB" if size >= 1024 else f"{size} bytes"


def _row(d) -> dict[str, str]:
    return {
        "id": str(d.id),
        "title": d.title,
        "kind": d.type_label,
        "status": d.status,
        "color": _STATUS_COLORS.get(d.status, "gray"),
        "progress": str(int(round((d.progress or 0) * 100))),
        "error": d.error or "",
        "size": _size(d.size_bytes) if d.size_bytes else "",
        "chunks": str(d.chunk_count),
        "pages": str(d.page_count or ""),
        "at": d.created_at,
        "busy": "1" if d.status in ("queued", "extracting", "embedding") else "",
    }


class KnowledgeState(OwnerState):
    docs: list[dict[str, str]] = []
    loaded: bool = False
    upload_errors: list[str] = []
    uploading: bool = False
    faq_error: str = ""
    chunks_title: str = ""
    chunks: list[dict[str, str]] = []
    query: str = ""
    results: list[dict[str, str]] = []
    searched: bool = False
    search_error: str = ""

    def _load(self) -> None:
        self.docs = [_row(d) for d in documents.list_documents(self._workspace_id)]
        self.loaded = True

    @service_event
    def load(self):
        ctx = self._owner()
        self.upload_errors, self.faq_error, self.search_error = [], "", ""
        self._load()
        registry.watch(self.router.session.client_token, KnowledgeState, [workspace_channel(ctx.workspace_id)])

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        try:
            ctx = await off_loop(self._owner)
        except AuthenticationError as exc:
            yield self._to_login(exc)
            return
        self.uploading, self.upload_errors = True, []
        yield
        errors = []
        for upload in files:
            try:
                data = await read_upload(upload)
                await off_loop(documents.upload_document, ctx.workspace_id, upload.name or "document", data,
                               user_id=ctx.user_id)
            except ServiceError as exc:  # one bad file never stops the rest of the batch
                errors.append(f"{upload.name}: {exc.message}")
        self.upload_errors = errors
        self.uploading = False
        await off_loop(self._load)

    @service_event
    def add_faq(self, form_data: dict):
        self.faq_error = ""
        done = self._for_owner(lambda ctx: documents.add_faq(
            ctx.workspace_id, form_data.get("question", ""), form_data.get("answer", ""), user_id=ctx.user_id),
            error_to="faq_error")
        if not done.ok:
            return done.event
        self._load()
        return rx.toast.success("Question added.")

    @service_event
    def retry(self, document_id: str):
        done = self._for_owner(lambda ctx: documents.retry_document(ctx.workspace_id, int(document_id)))
        if not done.ok:
            return done.event
        self._load()

    @service_event
    def delete(self, document_id: str):
        done = self._for_owner(lambda ctx: documents.delete_document(ctx.workspace_id, int(document_id)))
        if not done.ok:
            return done.event
        self._load()
        return rx.toast.success("Document deleted.")

    @service_event
    def reindex(self):
        ctx = self._owner()
        count = documents.reindex_workspace(ctx.workspace_id)
        self._load()
        return rx.toast.success(f"Re-indexing {count} documents.")

    @service_event
    def show_chunks(self, document_id: str, title: str):
        done = self._for_owner(lambda ctx: documents.list_chunks(ctx.workspace_id, int(document_id)))
        if not done.ok:
            return done.event
        self.chunks_title = title
        self.chunks = [{"ordinal": str(c.ordinal + 1), "heading": c.heading or "", "page": str(c.page or ""),
                        "content": c.content} for c in done.value]

    @rx.event
    def set_query(self, value: str):
        self.query = value[:500]

    @service_event
    def run_search(self):
        from backend.kb.search import search

        self.search_error = ""
        ctx = self._owner()
        if not self.query.strip():
            self.search_error = "Type a question your customers might ask."
            return
        hits = search(ctx.workspace_id, self.query, top_k=5)
        self.results = [
            {"title": h.document_title, "page": str(h.page or ""), "heading": h.heading or "",
             "passage": h.passage, "score": f"{h.score:.2f}",
             "why": " · ".join(part for part in (
                 f"meaning #{h.vector_rank}" if h.vector_rank else "",
                 f"words #{h.keyword_rank}" if h.keyword_rank else "") if part)}
            for h in hits
        ]
        self.searched = True

    def on_resync(self) -> None:
        self._load()

    def on_live_event(self, channel: str, event: dict) -> None:
        if event.get("type") != "kb.document.updated":
            return
        doc_id = str(event.get("document_id"))
        status = str(event.get("status", ""))
        progress = str(int(round(float(event.get("progress") or 0) * 100)))
        known = any(d["id"] == doc_id for d in self.docs)
        if not known or status in _SETTLED:
            self._load()
            return
        self.docs = [{**d, "status": status, "color": _STATUS_COLORS.get(status, "gray"), "progress": progress,
                      "busy": "1"} if d["id"] == doc_id else d for d in self.docs]


def _doc_row(d: rx.Var) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.vstack(
                rx.text(d["title"], size="2", weight="medium"),
                rx.text(d["kind"], " · ", d["size"], size="1", color=rx.color("gray", 10)),
                spacing="0",
            ),
        ),
        rx.table.cell(
            rx.vstack(
                rx.badge(d["status"], color_scheme=d["color"], aria_label="status " + d["title"]),
                rx.cond(d["busy"] == "1", rx.progress(value=d["progress"].to(int), max=100, width="120px",
                                                       size="1")),
                rx.cond(d["error"] != "", rx.text(d["error"], size="1", color=rx.color("red", 11), max_width="280px")),
                spacing="1",
            ),
        ),
        rx.table.cell(d["chunks"], display=["none", "table-cell"]),
        rx.table.cell(rx.moment(d["at"], format="MMM D"), display=["none", "none", "table-cell"]),
        rx.table.cell(
            rx.hstack(
                rx.cond(d["status"] == "failed",
                        rx.button("Retry", size="1", variant="soft", on_click=KnowledgeState.retry(d["id"]))),
                rx.dialog.root(
                    rx.dialog.trigger(rx.button("Passages", size="1", variant="soft", color_scheme="gray",
                                                on_click=KnowledgeState.show_chunks(d["id"], d["title"]))),
                    rx.dialog.content(
                        rx.dialog.title(KnowledgeState.chunks_title),
                        rx.vstack(
                            rx.foreach(KnowledgeState.chunks, lambda c: rx.box(
                                rx.text("#", c["ordinal"], rx.cond(c["page"] != "", " · page " + c["page"], ""),
                                        rx.cond(c["heading"] != "", " · " + c["heading"], ""), size="1",
                                        color=rx.color("gray", 10)),
                                rx.text(c["content"], size="2", white_space="pre-wrap"),
                                class_name="check-item", width="100%",
                            )),
                            spacing="2", max_height="60vh", overflow_y="auto", width="100%",
                        ),
                        rx.dialog.close(rx.button("Close", variant="soft", margin_top="1rem")),
                        max_width="720px",
                    ),
                ),
                confirm_dialog(rx.icon_button(rx.icon("trash_2", size=14), size="1", variant="ghost",
                                              color_scheme="red", aria_label="Delete " + d["title"]),
                               "Delete “" + d["title"] + "”?", "The assistant stops answering from it at once.",
                               "Delete", KnowledgeState.delete(d["id"])),
                spacing="2",
            ),
        ),
    )


def _upload_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.upload.root(
                rx.vstack(
                    rx.icon("cloud_upload", size=28, color=rx.color("indigo", 10)),
                    rx.text("Drop files here or click to choose", weight="medium"),
                    rx.text("PDF, Word, text, Markdown, web pages (HTML) and CSV, several at once.", size="1",
                            color=rx.color("gray", 10)),
                    align="center",
                    spacing="1",
                ),
                id=UPLOAD_ID,
                multiple=True,
                # The browser refuses what the server would (Reflex shows which files and why).
                max_files=get_settings().max_files_per_upload,
                max_size=get_settings().max_upload_mb * 1024 * 1024,
                on_drop=KnowledgeState.upload(rx.upload_files(upload_id=UPLOAD_ID)),
                class_name="dropzone",
                width="100%",
            ),
            rx.cond(KnowledgeState.uploading, rx.hstack(rx.spinner(size="1"), rx.text("Uploading…", size="2"))),
            rx.foreach(KnowledgeState.upload_errors,
                       lambda e: rx.callout(e, icon="circle_alert", color_scheme="red", size="1", width="100%",
                                            role="alert")),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def _faq_card() -> rx.Component:
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Add a question and answer", size="3", as_="h2"),
                rx.input(name="question", placeholder="Do you take walk-ins?", aria_label="Question", width="100%"),
                rx.text_area(name="answer", placeholder="Yes, on weekdays before 11am.", aria_label="Answer",
                             rows="3", width="100%"),
                form_alert(KnowledgeState.faq_error),
                rx.hstack(rx.spacer(), rx.button("Add to knowledge", type="submit"), width="100%"),
                spacing="2",
                width="100%",
            ),
            on_submit=KnowledgeState.add_faq,
            reset_on_submit=True,
        ),
        size="3",
        width="100%",
    )


def _search_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Test what the assistant finds", size="3", as_="h2"),
            rx.text("Ask as a customer would; see the passages it would answer from, and why they matched.",
                    size="2", color=rx.color("gray", 11)),
            rx.hstack(
                rx.input(value=KnowledgeState.query, on_change=KnowledgeState.set_query, flex_grow="1",
                         placeholder="How much is teeth whitening?", aria_label="Test question"),
                rx.button("Search", on_click=KnowledgeState.run_search),
                width="100%",
            ),
            form_alert(KnowledgeState.search_error),
            rx.cond(
                KnowledgeState.searched & (KnowledgeState.results.length() == 0),
                rx.text("Nothing relevant found. Add a document or a question and answer that covers it.", size="2",
                        color=rx.color("gray", 10)),
            ),
            rx.foreach(KnowledgeState.results, lambda r: rx.box(
                rx.hstack(rx.text(r["title"], size="2", weight="bold"),
                          rx.cond(r["page"] != "", rx.text("page " + r["page"], size="1")),
                          rx.spacer(), rx.badge(r["score"], variant="soft"), rx.text(r["why"], size="1",
                                                                                     color=rx.color("gray", 10)),
                          width="100%", align="center", wrap="wrap"),
                rx.text(r["passage"], size="2", white_space="pre-wrap"),
                class_name="check-item", width="100%", data_testid="search-result",
            )),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def knowledge_page() -> rx.Component:
    return dashboard_shell(
        "knowledge",
        page_header("Knowledge", "The documents your assistant answers from.",
                    rx.button(rx.icon("refresh_cw", size=14), "Re-index all", variant="soft", color_scheme="gray",
                              on_click=KnowledgeState.reindex)),
        _upload_card(),
        rx.cond(
            KnowledgeState.docs.length() > 0,
            rx.card(
                rx.box(rx.table.root(
                    rx.table.header(rx.table.row(
                        rx.table.column_header_cell("Document"), rx.table.column_header_cell("State"),
                        rx.table.column_header_cell("Passages", display=["none", "table-cell"]),
                        rx.table.column_header_cell("Added", display=["none", "none", "table-cell"]),
                        rx.table.column_header_cell(""))),
                    rx.table.body(rx.foreach(KnowledgeState.docs, _doc_row)),
                    width="100%",
                ), overflow_x="auto", width="100%"),
                width="100%",
            ),
            rx.cond(KnowledgeState.loaded,
                    empty_state("book_open", "Add what you know",
                                "Upload price lists, FAQs and policies. Your assistant answers from them and cites "
                                "them."),
                    rx.center(rx.spinner(), padding="2rem", width="100%")),
        ),
        rx.grid(_faq_card(), _search_card(), columns=rx.breakpoints(initial="1", md="2"), spacing="4",
                width="100%"),
        gaps_card(),
    )
