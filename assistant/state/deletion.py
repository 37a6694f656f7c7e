"""Deleting the workspace: asked for on Settings, cancelled from the banner every dashboard page shows meanwhile."""

from __future__ import annotations

import reflex as rx

from assistant.state.auth import OwnerState
from assistant.state.client import client_address
from assistant.state.handlers import service_event
from backend.errors import AuthenticationError, ServiceError
from backend.privacy import deletion
from backend.settings import get_settings


class DeletionState(OwnerState):
    dialog_open: bool = False
    confirm_name_error: str = ""
    password_error: str = ""
    form_error: str = ""
    grace_days: int = get_settings().workspace_deletion_grace_days
    scheduling: bool = False
    cancelling: bool = False

    @rx.event
    def set_dialog_open(self, open_: bool):
        self.dialog_open = open_
        self.confirm_name_error = self.password_error = self.form_error = ""

    @service_event
    def schedule(self, form_data: dict):
        self.confirm_name_error = self.password_error = self.form_error = ""
        self.scheduling = True
        yield
        try:
            ctx = self._owner()
            status = deletion.schedule_workspace_deletion(
                ctx.workspace_id, ctx.user_id, confirm_name=form_data.get("confirm_name", ""),
                password=form_data.get("password", ""), session_token=self.session_token,
                client_address=client_address(self))
        except AuthenticationError as exc:
            self.scheduling = False
            yield self._to_login(exc)
            return
        except ServiceError as exc:
            self.scheduling = False
            if exc.field in ("confirm_name", "password"):
                setattr(self, f"{exc.field}_error", exc.message)
            else:
                self.form_error = exc.message
            return
        self.scheduling = False
        self.dialog_open = False
        self.deletion_due = status.due_label
        yield rx.toast.success(f"{self.workspace_name} will be deleted on {status.due_label}. "
                               "Your customer portal is closed.")

    @service_event
    def cancel(self):
        self.cancelling = True
        yield
        done = self._for_owner(lambda ctx: deletion.cancel_workspace_deletion(
            ctx.workspace_id, ctx.user_id, client_address=client_address(self)))
        self.cancelling = False
        if not done.ok:
            yield done.event
            return
        self.deletion_due = ""
        yield rx.toast.success("Deletion cancelled. Your customer portal takes messages again.")
