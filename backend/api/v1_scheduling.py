"""REST API v1, continued: services, free times and appointments; and the drafts the assistant left for review.

Same rules as backend.api.v1: the token decides the workspace, every service call is scoped to it, another
workspace's id answers 404 exactly like an id that never existed. Bookings made here count as source "api" and
follow the booking rules (hours, notice, limits) like a customer's; they are race-safe like every booking.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal, Optional

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from backend.api.auth import Caller
from backend.api.error_responses import EVERY_OPERATION, ServiceErrorRoute, documented
from backend.api.schemas import MAX_ID, PlainText, _Request
from backend.calendar import availability, booking, slots
from backend.messaging import drafts
from backend.models.enums import AppointmentStatus

router = APIRouter(prefix="/api/v1", route_class=ServiceErrorRoute, responses=EVERY_OPERATION)

AppointmentId = Annotated[int, Path(ge=1, le=MAX_ID, description="An appointment of your workspace.")]
DraftId = Annotated[int, Path(ge=1, le=MAX_ID, description="A draft of your workspace.")]
READ = documented(404)
WRITE = documented(400, 404, 413)


class Service(BaseModel):
    id: int
    name: str
    description: str
    duration_minutes: int
    buffer_before_minutes: int
    buffer_after_minutes: int
    price_cents: Optional[int]
    currency: str
    active: bool


class Slot(BaseModel):
    starts_at: datetime
    ends_at: datetime
    local_start: str = Field(description="The start in the business's time zone, with its offset.")
    label: str


class Appointment(BaseModel):
    id: int
    service_id: Optional[int]
    service_name: str
    contact_id: Optional[int]
    contact_name: str
    conversation_id: Optional[int]
    starts_at: datetime
    ends_at: datetime
    local_start: str
    label: str
    status: str = Field(description="pending | confirmed | cancelled | completed | no_show")
    source: str = Field(description="chat | owner | api | block")
    title: str
    notes: str
    cancelled_by: str
    cancel_reason: str
    created_at: datetime


class Draft(BaseModel):
    id: int
    conversation_id: int
    contact_name: str
    status: str = Field(description="pending | sent | rejected | superseded")
    content: str = Field(description="What the assistant wrote.")
    sent_content: str = Field(description="What went out (an edit when there was one).")
    confidence: float
    intent: str
    reason: str = Field(description="Why it was drafted rather than sent.")
    citations: list[dict]
    customer_message: str
    created_at: str
    reviewed_at: str
    edit_ratio: Optional[float]


class ServiceList(BaseModel):
    data: list[Service]


class SlotList(BaseModel):
    data: list[Slot]


class AppointmentList(BaseModel):
    data: list[Appointment]


class DraftList(BaseModel):
    data: list[Draft]


class NewAppointment(_Request):
    service_id: int = Field(ge=1, le=MAX_ID)
    starts_at: datetime = Field(description="ISO 8601 with an offset; one of the free times.")
    contact_id: Optional[int] = Field(default=None, ge=1, le=MAX_ID)
    notes: PlainText = ""


class Reschedule(_Request):
    starts_at: datetime


class Cancel(_Request):
    reason: PlainText = Field(default="", max_length=300)


class StatusChange(_Request):
    status: Literal["confirmed", "completed", "no_show"]


class Approval(_Request):
    text: Optional[PlainText] = Field(default=None, description="An edit to send instead of the draft.")


class Rejection(_Request):
    reason: PlainText = Field(default="", max_length=300)


# --- services and free times ------------------------------------------------------------------------------------


@router.get("/services", tags=["booking"], response_model=ServiceList)
def list_services(caller: Caller) -> dict:
    """The services customers can book."""
    return {"data": [s.as_dict() for s in availability.list_services(caller.workspace_id, include_inactive=False)]}


@router.get("/availability", tags=["booking"], response_model=SlotList, responses=documented(400, 404))
def list_free_times(
    caller: Caller,
    service_id: Annotated[int, Query(ge=1, le=MAX_ID)],
    start: Annotated[date, Query(description="First local day (YYYY-MM-DD) in the business's time zone.")],
    end: Annotated[date, Query(description="Last local day, at most 92 days after start.")],
) -> dict:
    """Free start times for a service, by the business's hours, rules and existing bookings."""
    return {"data": [s.as_dict() for s in slots.available_slots(caller.workspace_id, service_id, start=start,
                                                                 end=end)]}


# --- appointments ------------------------------------------------------------------------------------------------


@router.get("/appointments", tags=["booking"], response_model=AppointmentList, responses=documented(400))
def list_appointments(
    caller: Caller,
    start: Annotated[date, Query(description="First local day.")],
    end: Annotated[date, Query(description="Last local day.")],
    status: Annotated[Optional[AppointmentStatus], Query(description="Only appointments in this status.")] = None,
    contact_id: Annotated[Optional[int], Query(ge=1, le=MAX_ID)] = None,
) -> dict:
    rows = booking.list_appointments(caller.workspace_id, start, end, status=status, contact_id=contact_id)
    return {"data": [r.as_dict() for r in rows]}


@router.post("/appointments", tags=["booking"], response_model=Appointment, status_code=201, responses=WRITE)
def book(caller: Caller, request: NewAppointment) -> dict:
    """Book a free time. A time taken meanwhile is refused with 400 and `field` "starts_at"."""
    return booking.book_appointment(caller.workspace_id, service_id=request.service_id, starts_at=request.starts_at,
                                    contact_id=request.contact_id, notes=request.notes, source="api").as_dict()


@router.get("/appointments/{appointment_id}", tags=["booking"], response_model=Appointment, responses=READ)
def get_appointment(caller: Caller, appointment_id: AppointmentId) -> dict:
    return booking.get_appointment(caller.workspace_id, appointment_id).as_dict()


@router.post("/appointments/{appointment_id}/reschedule", tags=["booking"], response_model=Appointment,
             responses=WRITE)
def reschedule(caller: Caller, appointment_id: AppointmentId, request: Reschedule) -> dict:
    return booking.reschedule_appointment(caller.workspace_id, appointment_id, request.starts_at,
                                          by="customer").as_dict()


@router.post("/appointments/{appointment_id}/cancel", tags=["booking"], response_model=Appointment,
             responses=WRITE)
def cancel(caller: Caller, appointment_id: AppointmentId, request: Cancel) -> dict:
    return booking.cancel_appointment(caller.workspace_id, appointment_id, by="owner",
                                      reason=request.reason or f"cancelled through the API ({caller.token_name})"
                                      ).as_dict()


@router.patch("/appointments/{appointment_id}", tags=["booking"], response_model=Appointment, responses=WRITE)
def change_status(caller: Caller, appointment_id: AppointmentId, request: StatusChange) -> dict:
    """Confirm a pending appointment, or mark a past one completed or no-show."""
    return booking.set_appointment_status(caller.workspace_id, appointment_id, request.status).as_dict()


# --- drafts -------------------------------------------------------------------------------------------------------


@router.get("/drafts", tags=["drafts"], response_model=DraftList)
def list_drafts(
    caller: Caller,
    status: Annotated[Literal["pending", "sent", "rejected", "superseded"], Query()] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict:
    """Replies the assistant drafted; pending ones oldest first."""
    return {"data": [d.as_dict() for d in drafts.list_drafts(caller.workspace_id, status=status, limit=limit)]}


@router.post("/drafts/{draft_id}/approve", tags=["drafts"], response_model=Draft, responses=WRITE)
def approve(caller: Caller, draft_id: DraftId, request: Approval) -> dict:
    """Send the draft to the customer, or `text` instead of it (the edit is measured)."""
    return drafts.approve_draft(caller.workspace_id, draft_id, None, edited_text=request.text).as_dict()


@router.post("/drafts/{draft_id}/reject", tags=["drafts"], response_model=Draft, responses=WRITE)
def reject(caller: Caller, draft_id: DraftId, request: Rejection) -> dict:
    return drafts.reject_draft(caller.workspace_id, draft_id, None, reason=request.reason).as_dict()
