"""Contacts: a searchable directory, and a page per contact to edit, merge or erase them."""

from __future__ import annotations

import reflex as rx

from assistant.components.dialogs import confirm_dialog
from assistant.components.forms import form_alert, labelled_input, labelled_textarea
from assistant.components.layout import dashboard_shell, empty_state, page_header
from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.errors import NotFound, ServiceError
from backend.messaging import contacts
from backend.privacy import export

SORTS = [("recent", "Last seen"), ("name", "Name"), ("created", "Newest")]


def _row(c) -> dict[str, str]:
    return {
        "id": str(c.id),
        "name": c.display_name,
        "phone": c.phone,
        "email": c.email,
        "conversations": str(c.conversation_count),
        "last_seen": (c.last_seen_at or c.created_at or "")[:10],
    }


class ContactsState(OwnerState):
    search: str = ""
    sort: str = "recent"
    rows: list[dict[str, str]] = []
    loaded: bool = False

    def _load(self) -> None:
        self.rows = [_row(c) for c in contacts.list_contacts(self._workspace_id, search=self.search.strip(),
                                                              sort=self.sort)]
        self.loaded = True

    @service_event
    def load(self):
        self._load()

    @service_event
    def set_search(self, value: str):
        self.search = value[:100]
        self._load()

    @service_event
    def set_sort(self, value: str):
        self.sort = value if value in dict(SORTS) else "recent"
        self._load()


class ContactDetailState(OwnerState):
    contact: dict[str, str] = {}
    conversations: list[dict[str, str]] = []
    found: bool = True
    loaded: bool = False
    form_key: int = 0
    error_field: str = ""
    error_message: str = ""
    merge_search: str = ""
    merge_candidates: list[dict[str, str]] = []
    merge_error: str = ""

    def _contact_id(self) -> int:
        tail = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    def _fill(self, view) -> None:
        self.contact = {
            "id": str(view.id), "name": view.display_name, "phone": view.phone, "first_name": view.first_name,
            "last_name": view.last_name, "email": view.email, "notes": view.notes,
            "created": (view.created_at or "")[:10], "conversations": str(view.conversation_count),
        }
        self.conversations = [
            {"id": str(c.id), "title": c.title or c.last_message_preview or "Conversation", "status": c.status,
             "when": (c.last_message_at or c.created_at)[:16].replace("T", " ")}
            for c in contacts.list_contact_conversations(self._workspace_id, view.id)
        ]
        self.form_key += 1

    @service_event
    def load(self):
        ctx = self._owner()
        self.error_field = self.error_message = self.merge_error = ""
        self.merge_candidates, self.merge_search = [], ""
        try:
            self._fill(contacts.get_contact(ctx.workspace_id, self._contact_id()))
            self.found = True
        except NotFound:
            self.found = False
        self.loaded = True

    @service_event
    def save(self, form_data: dict):
        self.error_field = self.error_message = ""
        try:
            ctx = self._owner()
            view = contacts.update_contact(
                ctx.workspace_id, self._contact_id(), first_name=form_data.get("first_name", ""),
                last_name=form_data.get("last_name", ""), email=form_data.get("email", ""),
                notes=form_data.get("notes", ""), user_id=ctx.user_id,
            )
        except ServiceError as exc:
            self.error_field, self.error_message = exc.field or "form", exc.message
            return
        self._fill(view)
        return rx.toast.success("Contact saved.")

    @service_event
    def set_merge_search(self, value: str):
        self.merge_search = value[:100]
        me = self._contact_id()
        found = contacts.list_contacts(self._workspace_id, search=self.merge_search.strip(), limit=8)
        self.merge_candidates = [_row(c) for c in found if c.id != me]

    @service_event
    def merge(self, other_id: str):
        self.merge_error = ""
        done = self._for_owner(lambda ctx: contacts.merge_contacts(
            ctx.workspace_id, self._contact_id(), int(other_id), user_id=ctx.user_id), error_to="merge_error")
        if not done.ok:
            return done.event
        self._fill(done.value)
        self.merge_candidates, self.merge_search = [], ""
        return rx.toast.success("Contacts merged.")

    @service_event
    def download_data(self):
        """A short-lived signed link the browser downloads the zip from (the HTTP route streams it)."""
        done = self._for_owner(lambda ctx: export.contact_export_link(ctx.workspace_id, self._contact_id(),
                                                                       ctx.user_id))
        if not done.ok:
            return done.event
        return [rx.download(url=done.value, filename=f"contact-{self._contact_id()}.zip"),
                rx.toast.info("Preparing the download…", duration=3000)]

    @service_event
    def delete(self):
        done = self._for_owner(
            lambda ctx: contacts.delete_contact(ctx.workspace_id, self._contact_id(), user_id=ctx.user_id))
        if not done.ok:
            return done.event
        return [rx.redirect("/dashboard/contacts"), rx.toast.success("Contact and all their data deleted.")]


def contacts_page() -> rx.Component:
    return dashboard_shell(
        "contacts",
        page_header("Contacts", "Everyone who has talked to your business."),
        rx.flex(
            rx.input(placeholder="Search by name, phone or email…", value=ContactsState.search, size="3",
                     flex_grow="1",
                     on_change=ContactsState.set_search.debounce(300), aria_label="Search contacts"),
            rx.el.select(*[rx.el.option(label, value=value) for value, label in SORTS], value=ContactsState.sort,
                         on_change=ContactsState.set_sort, class_name="native-select", aria_label="Sort by",
                         max_width="200px"),
            gap="3",
            width="100%",
            direction=rx.breakpoints(initial="column", sm="row"),
        ),
        rx.cond(
            ContactsState.rows.length() > 0,
            rx.card(
                rx.box(
                    rx.table.root(
                        rx.table.header(rx.table.row(
                            rx.table.column_header_cell("Name"), rx.table.column_header_cell("Phone"),
                            rx.table.column_header_cell("Email", display=["none", "none", "table-cell"]),
                            rx.table.column_header_cell("Conversations", display=["none", "table-cell"]),
                            rx.table.column_header_cell("Last seen", display=["none", "table-cell"]),
                        )),
                        rx.table.body(rx.foreach(ContactsState.rows, lambda c: rx.table.row(
                            rx.table.row_header_cell(rx.link(c["name"], href="/dashboard/contacts/" + c["id"])),
                            rx.table.cell(c["phone"], white_space="nowrap"),
                            rx.table.cell(c["email"], display=["none", "none", "table-cell"]),
                            rx.table.cell(c["conversations"], display=["none", "table-cell"]),
                            rx.table.cell(c["last_seen"], display=["none", "table-cell"]),
                        ))),
                        width="100%",
                    ),
                    overflow_x="auto",
                ),
                width="100%",
            ),
            rx.cond(
                ContactsState.loaded,
                empty_state("users", rx.cond(ContactsState.search != "", "No contact matches your search",
                                             "No contacts yet"),
                            "Customers become contacts when they identify with their phone number on your portal."),
                rx.center(rx.spinner(), padding="2rem", width="100%"),
            ),
        ),
    )


def _error(field: str) -> rx.Var:
    return rx.cond(ContactDetailState.error_field == field, ContactDetailState.error_message, "")


def _details_card() -> rx.Component:
    c = ContactDetailState.contact
    return rx.card(
        rx.form(
            rx.vstack(
                rx.heading("Details", size="4", as_="h2"),
                form_alert(_error("form")),
                rx.grid(
                    labelled_input("First name", "first_name", default_value=c["first_name"],
                                   error=_error("first_name")),
                    labelled_input("Last name", "last_name", default_value=c["last_name"], error=_error("last_name")),
                    labelled_input("Email", "email", type="email", default_value=c["email"], error=_error("email")),
                    rx.vstack(rx.el.label("Phone", class_name="field-label"),
                              rx.text(c["phone"], size="3", padding_y="6px"), spacing="1"),
                    columns=rx.breakpoints(initial="1", sm="2"),
                    spacing="4",
                    width="100%",
                ),
                labelled_textarea("Notes", "notes", default_value=c["notes"], error=_error("notes"),
                                  placeholder="Anything your team should know."),
                rx.hstack(rx.spacer(), rx.button("Save contact", type="submit", size="3"), width="100%"),
                spacing="4",
                width="100%",
            ),
            on_submit=ContactDetailState.save,
            no_validate=True,
            key=ContactDetailState.form_key,
        ),
        size="3",
        width="100%",
    )


def _merge_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Merge a duplicate", size="4", as_="h2"),
            rx.text("Same person under two numbers? Find the other contact and merge it into this one: its "
                    "conversations move here and it is removed.", size="2", color=rx.color("gray", 11)),
            rx.input(placeholder="Search the other contact…", value=ContactDetailState.merge_search,
                     on_change=ContactDetailState.set_merge_search.debounce(300), aria_label="Find contact to merge",
                     width="100%"),
            form_alert(ContactDetailState.merge_error),
            rx.foreach(ContactDetailState.merge_candidates, lambda m: rx.hstack(
                rx.text(m["name"], size="2", weight="medium"), rx.text(m["phone"], size="1", color=rx.color("gray",
                                                                                                            10)),
                rx.spacer(),
                confirm_dialog(rx.button("Merge", size="1", variant="soft"),
                               "Merge " + m["name"] + " into this contact?",
                               "Their conversations move here. This cannot be undone.", "Merge contacts",
                               ContactDetailState.merge(m["id"]), color="indigo"),
                width="100%", align="center",
            )),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def _danger_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Delete this contact", size="4", as_="h2"),
            rx.text("Erases the contact, every conversation, message and file they sent. Use it when a customer "
                    "asks you to delete their data; download it first if they asked for a copy too.", size="2",
                    color=rx.color("gray", 11)),
            confirm_dialog(rx.button(rx.icon("trash_2", size=14), "Delete contact and data", color_scheme="red",
                                     variant="soft"),
                           "Delete " + ContactDetailState.contact["name"] + " and all their data?",
                           "Conversations, messages and files are erased for good.", "Delete for good",
                           ContactDetailState.delete),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )


def contact_detail_page() -> rx.Component:
    return dashboard_shell(
        "contacts",
        rx.link(rx.hstack(rx.icon("arrow_left", size=14), rx.text("All contacts", size="2"), align="center"),
                href="/dashboard/contacts"),
        rx.cond(
            ~ContactDetailState.loaded,
            rx.center(rx.spinner(size="3"), padding="3rem", width="100%"),
            rx.cond(
                ContactDetailState.found,
                rx.vstack(
                    page_header(ContactDetailState.contact["name"],
                                ContactDetailState.contact["phone"] + " · customer since "
                                + ContactDetailState.contact["created"],
                                rx.tooltip(rx.button(rx.icon("download", size=14), "Download data", variant="soft",
                                                     on_click=ContactDetailState.download_data),
                                           content="Everything you hold about this person, as a zip (for a data "
                                                   "access request)")),
                    rx.grid(
                        rx.vstack(_details_card(), _merge_card(), _danger_card(), spacing="4", width="100%"),
                        rx.card(
                            rx.vstack(
                                rx.heading("Conversations", size="4", as_="h2"),
                                rx.cond(
                                    ContactDetailState.conversations.length() > 0,
                                    rx.vstack(rx.foreach(ContactDetailState.conversations, lambda cv: rx.link(
                                        rx.hstack(rx.text(cv["title"], size="2", class_name="truncate"), rx.spacer(),
                                                  rx.badge(cv["status"], variant="soft"), width="100%",
                                                  class_name="check-item"),
                                        href="/dashboard/inbox?c=" + cv["id"], underline="none", color="inherit",
                                        width="100%")), spacing="2", width="100%"),
                                    rx.text("No conversations.", size="2", color=rx.color("gray", 10)),
                                ),
                                spacing="3",
                                width="100%",
                            ),
                            size="3",
                            width="100%",
                        ),
                        columns=rx.breakpoints(initial="1", md="3fr 2fr"),
                        spacing="4",
                        width="100%",
                    ),
                    spacing="5",
                    width="100%",
                ),
                empty_state("user_x", "Contact not found", "It may have been merged or deleted."),
            ),
        ),
    )
