"""The business profile form, shared by onboarding (/setup) and Settings, plus the portal link."""

from __future__ import annotations

import reflex as rx

from assistant.state.auth import OwnerState
from assistant.state.handlers import service_event
from backend.errors import ServiceError
from backend.workspaces import service as workspaces


class ProfileState(OwnerState):
    loaded: bool = False
    form_key: int = 0  # bumps to remount the form with fresh defaults
    name: str = ""
    industry: str = ""
    occupation: str = ""
    ai_role: str = "general"
    ai_personality: str = "professional"
    assistant_name: str = ""
    custom_instructions: str = ""
    timezone: str = "UTC"
    welcome_message: str = ""
    reply_policy: str = "auto_above_threshold"
    portal_path: str = ""

    error_field: str = ""
    error_message: str = ""
    saving: bool = False
    regenerating: bool = False

    @rx.var
    def portal_url(self) -> str:
        origin = self.router.url.origin if self.router.url.netloc else ""
        return f"{origin}{self.portal_path}"

    def _fill(self, profile: workspaces.WorkspaceProfile) -> None:
        for key in ("name", "industry", "occupation", "ai_role", "ai_personality", "assistant_name",
                    "custom_instructions", "timezone", "welcome_message", "reply_policy"):
            setattr(self, key, getattr(profile, key))
        self.portal_path = f"/portal/{profile.slug}"
        self.workspace_name = profile.name
        self.workspace_slug = profile.slug
        self.form_key += 1
        self.loaded = True

    @service_event
    def load(self):
        self.error_field = self.error_message = ""
        ctx = self._owner()
        self._fill(workspaces.get_profile(ctx.workspace_id))

    @service_event
    def save(self, form_data: dict):
        """Both the setup page and Settings submit here; the first save finishes onboarding."""
        self.saving = True
        self.error_field = self.error_message = ""
        yield
        ctx = self._owner()
        first_time = not ctx.onboarded
        try:
            profile = workspaces.update_profile(
                ctx.workspace_id,
                name=form_data.get("name", ""),
                industry=form_data.get("industry", ""),
                occupation=form_data.get("occupation", ""),
                ai_role=form_data.get("ai_role", ""),
                ai_personality=form_data.get("ai_personality", ""),
                assistant_name=form_data.get("assistant_name", ""),
                custom_instructions=form_data.get("custom_instructions", ""),
                timezone=form_data.get("timezone", ""),
                welcome_message=form_data.get("welcome_message", ""),
                reply_policy=form_data.get("reply_policy") or None,
                user_id=ctx.user_id,
            )
        except ServiceError as exc:
            self.error_field = exc.field or "form"
            self.error_message = exc.message
            self.saving = False
            return
        self.saving = False
        self.onboarded = True
        self._fill(profile)
        if first_time:
            yield rx.redirect("/dashboard?welcome=1")
        else:
            yield rx.toast.success("Profile saved.")

    @service_event
    def regenerate_link(self):
        self.regenerating = True
        yield
        ctx = self._owner()
        profile = workspaces.regenerate_slug(ctx.workspace_id, user_id=ctx.user_id)
        self.regenerating = False
        self.portal_path = f"/portal/{profile.slug}"
        self.workspace_slug = profile.slug
        yield rx.toast.success("New portal link created. The old link no longer works.")

    @rx.event
    def copy_link(self):
        return [rx.set_clipboard(self.portal_url), rx.toast.success("Portal link copied.")]
