"""The business profile form and the portal link card."""

from __future__ import annotations

import reflex as rx

from assistant.components.dialogs import confirm_dialog
from assistant.components.forms import field_error, form_alert, labelled_input, labelled_textarea, submit_button
from assistant.state.profile import ProfileState
from backend.workspaces.service import AI_PERSONALITY_LABELS, AI_ROLE_LABELS, ReplyPolicy, common_timezones

_POLICY_LABELS = {
    ReplyPolicy.AUTO_ABOVE_THRESHOLD: "Send confident answers, draft the rest for me",
    ReplyPolicy.ALWAYS_DRAFT: "Draft every reply for my approval",
    ReplyPolicy.ALWAYS_SEND: "Always send automatically",
}


def _error(field: str) -> rx.Var:
    return rx.cond(ProfileState.error_field == field, ProfileState.error_message, "")


def native_select(label: str, name: str, options: list[tuple[str, str]], default: rx.Var,
                  hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=name, class_name="field-label"),
        rx.el.select(
            *[rx.el.option(text, value=value) for value, text in options],
            id=name,
            name=name,
            default_value=default,
            class_name="native-select",
        ),
        rx.text(hint, size="1", color=rx.color("gray", 10)) if hint else rx.fragment(),
        field_error(_error(name)),
        spacing="1",
        width="100%",
        align="start",
    )


def _section(title: str, description: str, *children: rx.Component) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="4", as_="h2"),
            rx.text(description, size="2", color=rx.color("gray", 11)),
            rx.divider(),
            *children,
            spacing="4",
            width="100%",
        ),
        width="100%",
        size="3",
    )


def _grid(*children: rx.Component) -> rx.Component:
    return rx.grid(*children, columns=rx.breakpoints(initial="1", sm="2"), spacing="4", width="100%")


def profile_form(submit_label: str, show_policy: bool = False) -> rx.Component:
    timezones = [(tz, tz.replace("_", " ")) for tz in common_timezones()]
    return rx.cond(
        ProfileState.loaded,
        rx.form(
            rx.vstack(
                form_alert(_error("form")),
                _section(
                    "Your business",
                    "How customers see you on your portal.",
                    _grid(
                        labelled_input("Business name", "name", default_value=ProfileState.name, required=True,
                                       error=_error("name")),
                        native_select("Time zone", "timezone", timezones, ProfileState.timezone,
                                      hint="Appointments and opening hours use this time zone."),
                        labelled_input("Industry", "industry", default_value=ProfileState.industry,
                                       placeholder="Healthcare", error=_error("industry")),
                        labelled_input("Occupation", "occupation", default_value=ProfileState.occupation,
                                       placeholder="Dentist", error=_error("occupation")),
                    ),
                    labelled_input("Welcome line on your portal", "welcome_message",
                                   default_value=ProfileState.welcome_message,
                                   placeholder="Hi! Ask me anything or book a visit.", error=_error("welcome_message")),
                ),
                _section(
                    "Your assistant",
                    "Who answers your customers, and how.",
                    _grid(
                        labelled_input("Assistant's name", "assistant_name", default_value=ProfileState.assistant_name,
                                       required=True, error=_error("assistant_name")),
                        native_select("Role", "ai_role", list(AI_ROLE_LABELS.items()), ProfileState.ai_role,
                                      hint="Sets what the assistant knows about your line of work."),
                        native_select("Personality", "ai_personality", list(AI_PERSONALITY_LABELS.items()),
                                      ProfileState.ai_personality, hint="Sets the tone of every reply."),
                        native_select("When the assistant replies", "reply_policy", list(_POLICY_LABELS.items()),
                                      ProfileState.reply_policy)
                        if show_policy else rx.fragment(),
                    ),
                    labelled_textarea(
                        "Custom instructions", "custom_instructions",
                        default_value=ProfileState.custom_instructions,
                        placeholder="e.g. Always offer the earliest slot. Never quote prices for implants.",
                        hint="Up to 4,000 characters.", error=_error("custom_instructions"), rows="5",
                    ),
                ),
                rx.hstack(
                    rx.spacer(),
                    rx.box(submit_button(submit_label, ProfileState.saving), min_width="200px"),
                    width="100%",
                ),
                spacing="5",
                width="100%",
            ),
            on_submit=ProfileState.save,
            no_validate=True,
            key=ProfileState.form_key,
            width="100%",
        ),
        rx.center(rx.spinner(size="3"), padding="3rem", width="100%"),
    )


def portal_link_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.icon("link", size=18, color=rx.color("indigo", 10)),
                rx.heading("Your portal link", size="4", as_="h2"),
                align="center",
                spacing="2",
            ),
            rx.text("Share it on your website, Google profile or in text messages. Customers chat with your "
                    "assistant there.", size="2", color=rx.color("gray", 11)),
            rx.flex(
                rx.input(value=ProfileState.portal_url, read_only=True, size="3", flex_grow="1", min_width="0",
                         aria_label="Portal link", id="portal-link"),
                rx.hstack(
                    rx.button(rx.icon("copy", size=16), "Copy", on_click=ProfileState.copy_link, size="3",
                              variant="soft"),
                    rx.link(rx.button(rx.icon("external_link", size=16), "Open", size="3", variant="soft"),
                            href=ProfileState.portal_path, is_external=True),
                    spacing="2",
                ),
                gap="2",
                width="100%",
                direction=rx.breakpoints(initial="column", sm="row"),
            ),
            confirm_dialog(
                rx.button(rx.icon("refresh_cw", size=14), "Regenerate link", variant="ghost", color_scheme="gray",
                          size="2", loading=ProfileState.regenerating),
                "Create a new portal link?",
                "The current link stops working at once. Customers who saved it will need the new one.",
                "Create new link",
                ProfileState.regenerate_link,
            ),
            spacing="3",
            width="100%",
        ),
        size="3",
        width="100%",
    )
