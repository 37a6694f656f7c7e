"""Form building blocks: a labelled input with its error beneath, and a form-level alert."""

from __future__ import annotations

import reflex as rx


def field_error(message: rx.Var) -> rx.Component:
    return rx.cond(
        message != "",
        rx.text(message, color=rx.color("red", 11), size="1", role="alert"),
    )


def labelled_input(
    label: str,
    name: str,
    *,
    error: rx.Var | str = "",
    type: str = "text",
    placeholder: str = "",
    default_value: rx.Var | str = "",
    required: bool = False,
    auto_complete: str = "",
    hint: str = "",
) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=name, class_name="field-label"),
        rx.input(
            id=name,
            name=name,
            type=type,
            placeholder=placeholder,
            default_value=default_value,
            required=required,
            auto_complete=auto_complete or None,
            size="3",
            width="100%",
        ),
        rx.cond(hint != "", rx.text(hint, size="1", color=rx.color("gray", 10))) if hint else rx.fragment(),
        field_error(error) if isinstance(error, rx.Var) else rx.fragment(),
        spacing="1",
        width="100%",
        align="start",
    )


def labelled_textarea(
    label: str, name: str, *, default_value: rx.Var | str = "", placeholder: str = "", hint: str = "",
    error: rx.Var | str = "", rows: str = "4",
) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=name, class_name="field-label"),
        rx.text_area(id=name, name=name, default_value=default_value, placeholder=placeholder, rows=rows,
                     width="100%", size="3"),
        rx.text(hint, size="1", color=rx.color("gray", 10)) if hint else rx.fragment(),
        field_error(error) if isinstance(error, rx.Var) else rx.fragment(),
        spacing="1",
        width="100%",
        align="start",
    )


def labelled_select(
    label: str, name: str, options: list[tuple[str, str]], *, value: rx.Var, on_change, error: rx.Var | str = "",
) -> rx.Component:
    """A select whose value lives in state (Radix selects are not native form inputs)."""
    return rx.vstack(
        rx.el.label(label, html_for=name, class_name="field-label"),
        rx.select.root(
            rx.select.trigger(id=name, width="100%", aria_label=label),
            rx.select.content(*[rx.select.item(text, value=key) for key, text in options]),
            value=value,
            on_change=on_change,
            size="3",
        ),
        field_error(error) if isinstance(error, rx.Var) else rx.fragment(),
        spacing="1",
        width="100%",
        align="start",
    )


def form_alert(message: rx.Var, color: str = "red") -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="circle_alert" if color == "red" else "info", color_scheme=color, width="100%",
                   role="alert"),
    )


def submit_button(text: str, loading: rx.Var, **props) -> rx.Component:
    return rx.button(text, type="submit", loading=loading, size="3", width="100%", **props)


def dialog_actions(label: str, on_click=None) -> rx.Component:
    """A dialog's footer: Cancel (closes it) and the action, on the right. Without `on_click` the action submits
    the dialog's form."""
    action = rx.button(label, type="submit") if on_click is None else rx.button(label, on_click=on_click,
                                                                                  type="button")
    return rx.hstack(rx.dialog.close(rx.button("Cancel", variant="soft", color_scheme="gray", type="button")),
                     action, spacing="2", justify="end", width="100%")
