"""Settings card: API tokens for integrations. A new secret is shown once; only its prefix stays visible."""

from __future__ import annotations

import reflex as rx

from assistant.components.forms import form_alert
from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.accounts import api_tokens


class ApiTokensState(OwnerState):
    tokens: list[dict[str, str]] = []
    new_secret: str = ""
    token_error: str = ""

    def _load(self, workspace_id: int) -> None:
        self.tokens = [
            {"id": str(t.id), "name": t.name, "prefix": f"fd_{t.prefix}_…", "created": t.created_at[:10],
             "used": (t.last_used_at or "never")[:10], "revoked": "1" if t.revoked else ""}
            for t in api_tokens.list_api_tokens(workspace_id)
        ]

    @service_event
    def load_tokens(self):
        self.new_secret = self.token_error = ""
        ctx = self._owner()
        self._load(ctx.workspace_id)

    @service_event
    def create(self, form_data: dict):
        self.token_error = ""
        done = self._for_owner(lambda ctx: api_tokens.create_api_token(
            ctx.workspace_id, form_data.get("token_name", ""), user_id=ctx.user_id), error_to="token_error")
        if not done.ok:
            return done.event
        _, self.new_secret = done.value
        self._load(self._workspace_id)

    @service_event
    def revoke(self, token_id: str):
        done = self._for_owner(
            lambda ctx: api_tokens.revoke_api_token(ctx.workspace_id, int(token_id), user_id=ctx.user_id))
        if not done.ok:
            return done.event
        self._load(self._workspace_id)
        return rx.toast.success("Token revoked. Integrations using it stop working now.")

    @rx.event
    def copy_secret(self):
        return [rx.set_clipboard(self.new_secret), rx.toast.success("Token copied.")]


def api_tokens_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(rx.icon("key_round", size=18, color=rx.color("indigo", 10)),
                      rx.heading("API tokens", size="4", as_="h2"), align="center", spacing="2"),
            rx.text("Connect other tools through the REST API (", rx.link("reference", href="/api/v1/docs",
                                                                           is_external=True),
                    "). Send the token as a Bearer header.", size="2", color=rx.color("gray", 11)),
            rx.form(
                rx.hstack(
                    rx.input(name="token_name", placeholder="e.g. Zapier", aria_label="Token name", size="2",
                             flex_grow="1", max_length=80),
                    rx.button(rx.icon("plus", size=14), "Create token", type="submit", size="2"),
                    width="100%",
                ),
                on_submit=ApiTokensState.create,
                reset_on_submit=True,
                width="100%",
            ),
            form_alert(ApiTokensState.token_error),
            rx.cond(
                ApiTokensState.new_secret != "",
                rx.callout(
                    rx.vstack(
                        rx.text("Copy this token now: it won't be shown again.", weight="medium"),
                        rx.hstack(rx.code(ApiTokensState.new_secret, id="new-api-token", word_break="break-all"),
                                  rx.icon_button(rx.icon("copy", size=14), size="1", variant="soft",
                                                 on_click=ApiTokensState.copy_secret, aria_label="Copy token"),
                                  align="center"),
                        spacing="1",
                    ),
                    icon="key_round", color_scheme="green", width="100%",
                ),
            ),
            rx.cond(
                ApiTokensState.tokens.length() > 0,
                rx.box(rx.table.root(
                    rx.table.header(rx.table.row(
                        rx.table.column_header_cell("Name"), rx.table.column_header_cell("Token"),
                        rx.table.column_header_cell("Last used"), rx.table.column_header_cell(""))),
                    rx.table.body(rx.foreach(ApiTokensState.tokens, lambda t: rx.table.row(
                        rx.table.row_header_cell(t["name"]),
                        rx.table.cell(rx.code(t["prefix"])),
                        rx.table.cell(t["used"]),
                        rx.table.cell(rx.cond(
                            t["revoked"] == "1",
                            rx.badge("revoked", color_scheme="gray"),
                            rx.button("Revoke", size="1", color_scheme="red", variant="soft",
                                      on_click=ApiTokensState.revoke(t["id"]),
                                      aria_label="Revoke " + t["name"]),
                        )),
                    ))),
                    size="1", width="100%",
                ), overflow_x="auto", width="100%"),
                rx.text("No tokens yet.", size="2", color=rx.color("gray", 10)),
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )
