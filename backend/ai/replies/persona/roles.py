"""The twelve roles: how the business calls its customers and bookings, and the caveats a reply in that role
must carry ("no diagnosis here", the emergency number of the business's country)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from backend.models.enums import AIRole


@dataclass(frozen=True)
class Caveat:
    """A line a real business of this kind must add when the message touches a subject."""

    key: str
    text: str  # may use {emergency}
    triggers: str  # a regular expression over the lowercased message
    urgent: bool = False  # said before anything else

    def matches(self, message: str) -> bool:
        return re.search(self.triggers, message.lower()) is not None


@dataclass(frozen=True)
class Role:
    key: str
    customers: str  # "patients"
    customer: str  # "patient"
    team: str  # "the practice team": who the assistant checks with, in "I'll check with {team}"
    booking: str  # "appointment"
    a_booking: str  # "an appointment"
    help: str  # what the assistant can do, after "I can"
    service_question: str  # asks what a booking is for ("" = do not ask)
    caveats: tuple[Caveat, ...] = ()
    rules: tuple[str, ...] = ()  # extra rules for the LLM's system prompt
    ask_party_size: bool = False


_MEDICAL_URGENT = (
    r"chest pain|heart attack|can'?t breathe|cannot breathe|can not breathe|(?:difficulty|trouble|hard) breathing|"
    r"short(?:ness)? of breath|breathless|stroke|seizure|unconscious|passed out|faint(?:ed|ing)|overdose|"
    r"suicid|kill myself|self[- ]harm|anaphyla|throat (?:is )?(?:swelling|swollen|closing)|"
    r"(?:severe|heavy|heavily|uncontrolled|won'?t stop) ?bleeding|bleeding (?:heavily|a lot|won'?t stop)|"
    r"emergency(?!\s+(?:visits?|appointments?|slots?|fees?|numbers?|dentists?|services?))|severe pain|"
    r"unbearable|knocked out"
)
_MEDICAL_ADVICE = (
    r"symptom|\bpain|painful|\bhurt|\bache|aching|\bsore\b|swell|swollen|bleed|fever|infect|rash|lump|"
    r"medication|medicine|\bdrug|\bdose|dosage|antibiotic|ibuprofen|paracetamol|diagnos|prescri|"
    r"is (?:it|this|that) normal|should i (?:take|worry|be worried|be concerned)|what(?:'s| is) wrong"
)

ROLES: dict[str, Role] = {
    AIRole.GENERAL: Role(
        key="general", customers="customers", customer="customer", team="the team", booking="appointment",
        a_booking="an appointment", help="answer your questions and help you book an appointment",
        service_question="Which service would you like",
    ),
    AIRole.BANKER: Role(
        key="banker", customers="clients", customer="client", team="our advisors", booking="appointment",
        a_booking="an appointment", help="answer questions about our services and arrange a meeting with an advisor",
        service_question="What would you like to discuss",
        caveats=(
            Caveat("fraud", "If your card is lost or stolen, or you suspect fraud, please block it in your banking "
                            "app or call us right away.",
                   r"stolen|\blost (?:my |the )?card|card (?:is |was )?lost|fraud|scam|hack(?:ed)?|"
                   r"unauthori[sz]ed|didn'?t make (?:this|that|a) (?:payment|transaction)", urgent=True),
            Caveat("security", "For your security, please never share your full card number, PIN, passwords or "
                               "one-time codes in this chat. We will never ask for them.",
                   r"\bcard\b|\bpin\b|password|passcode|account number|\biban\b|\bcvv\b|\bcvc\b|security code|"
                   r"one[- ]time code|\botp\b|log ?in|online banking|(?:\d[ -]?){12,}"),
        ),
        rules=("Never ask for, repeat or accept full card numbers, PINs, passwords, CVV or one-time codes; if the "
               "customer shares one, tell them not to and that the bank never asks for them.",
               "Do not give personal financial or investment advice; offer a meeting with an advisor instead."),
    ),
    AIRole.MEDICAL: Role(
        key="medical", customers="patients", customer="patient", team="the practice team", booking="appointment",
        a_booking="an appointment", help="answer questions about the practice and help you book a visit",
        service_question="What is the visit for",
        caveats=(
            Caveat("emergency", "If this is an emergency or your symptoms are severe, please call {emergency} right "
                                "away.", _MEDICAL_URGENT, urgent=True),
            Caveat("no_diagnosis", "I can't give medical advice or a diagnosis in this chat; the best next step is "
                                   "a visit so we can take a proper look.", _MEDICAL_ADVICE),
        ),
        rules=("Never give a diagnosis, medical advice or medication doses; suggest booking a visit instead.",
               "If the patient describes urgent symptoms (chest pain, trouble breathing, heavy bleeding, fainting, "
               "thoughts of self-harm), tell them first to call emergency services ({emergency}) right away."),
    ),
    AIRole.LEGAL: Role(
        key="legal", customers="clients", customer="client", team="our office", booking="consultation",
        a_booking="a consultation", help="answer questions about our office and arrange a consultation",
        service_question="What is the matter about, in a few words",
        caveats=(
            Caveat("not_legal_advice", "Please note this is general information, not legal advice; one of our "
                                       "lawyers can advise you on your situation.",
                   r"should i|can i sue|\bsue\b|lawsuit|my case|liab|my rights|\brights\b|contract|court|"
                   r"legal advice|entitled|custody|divorce|evict|fired|dismiss|is (?:it|this|that) legal|illegal|"
                   r"settlement|claim|will i (?:win|lose)|deadline"),
        ),
        rules=("Give general information only, never legal advice on the client's own situation; say so and offer "
               "a consultation with a lawyer.",
               "Do not promise outcomes or assess the chances of a case."),
    ),
    AIRole.REAL_ESTATE: Role(
        key="real_estate", customers="clients", customer="client", team="our agents", booking="viewing",
        a_booking="a viewing", help="answer questions about our listings and arrange viewings",
        service_question="Which property would you like to see",
        caveats=(
            Caveat("not_financial_advice", "This is general information, not financial advice; please confirm the "
                                           "details with our agents or your adviser.",
                   r"mortgage|\bloan|invest|return on|\byield|\btax|stamp duty|afford"),
        ),
        rules=("Listing details (price, availability) can change: do not promise them beyond what the passages "
               "say; give no mortgage, tax or investment advice.",),
    ),
    AIRole.RESTAURANT: Role(
        key="restaurant", customers="guests", customer="guest", team="the restaurant team", booking="reservation",
        a_booking="a table", help="answer questions about our menu and opening hours and help you reserve a table",
        service_question="", ask_party_size=True,
        caveats=(
            Caveat("allergy", "If you have a food allergy, please tell our staff when you order so the kitchen can "
                              "advise you.",
                   r"allerg|gluten|c(?:o)?eliac|\bnuts?\b|peanut|shellfish|lactose|dairy|intoleran|sesame"),
        ),
        rules=("Never promise that a dish is free of an allergen; ask guests to tell the staff about allergies.",),
    ),
    AIRole.SALON: Role(
        key="salon", customers="clients", customer="client", team="the salon team", booking="appointment",
        a_booking="an appointment", help="answer questions about our treatments and help you book an appointment",
        service_question="Which treatment would you like",
        caveats=(
            Caveat("patch_test", "If you have allergies or sensitive skin, please mention it when you book; some "
                                 "treatments need a patch test first.",
                   r"allerg|sensitive skin|patch test|pregnan|\brash|irritat|react(?:ion)?\b|\bdye\b"),
        ),
    ),
    AIRole.FITNESS: Role(
        key="fitness", customers="members", customer="member", team="our coaches", booking="session",
        a_booking="a session", help="answer questions about classes and memberships and help you book a session",
        service_question="Which class or session would you like",
        caveats=(
            Caveat("health", "If you have an injury or a health condition, please check with your doctor before "
                             "starting a new programme and let your coach know.",
                   r"injur|\bpain|\bhurt|pregnan|heart|condition|surgery|asthma|blood pressure|diabet|\bknee|"
                   r"\bback\b"),
        ),
        rules=("Give no medical advice; suggest checking with a doctor for injuries or health conditions.",),
    ),
    AIRole.EDUCATION: Role(
        key="education", customers="students", customer="student", team="our team", booking="lesson",
        a_booking="a lesson", help="answer questions about our courses and help you book a lesson",
        service_question="Which subject or course is it for",
    ),
    AIRole.RETAIL: Role(
        key="retail", customers="customers", customer="customer", team="the store team", booking="appointment",
        a_booking="an appointment", help="answer questions about our products, stock and opening hours",
        service_question="What would you like the appointment for",
    ),
    AIRole.HOSPITALITY: Role(
        key="hospitality", customers="guests", customer="guest", team="our front desk", booking="reservation",
        a_booking="a reservation", help="help with questions about your stay and our amenities, and with "
                                        "reservations",
        service_question="Which room or service would you like",
    ),
    AIRole.TECH_SUPPORT: Role(
        key="tech_support", customers="customers", customer="customer", team="our support team",
        booking="support call", a_booking="a support call",
        help="answer questions about our products and pass technical issues on to our support team",
        service_question="What is the issue about",
        caveats=(
            Caveat("credentials", "For your security, please don't share passwords or verification codes in this "
                                  "chat.",
                   r"password|passcode|log ?in|2fa|two[- ]factor|verification code|credentials|api key"),
        ),
        rules=("Never ask for passwords, verification codes or API keys.",),
    ),
}


def get_role(role: str | None) -> Role:
    """The vocabulary of a role; an unknown role speaks like the general front desk."""
    return ROLES.get(str(role or "").strip().lower(), ROLES[AIRole.GENERAL])


_US_CA = re.compile(r"^(?:America/(?:New_York|Chicago|Denver|Los_Angeles|Phoenix|Anchorage|Detroit|Boise|Juneau|"
                    r"Indiana/.*|Kentucky/.*|North_Dakota/.*|Toronto|Vancouver|Edmonton|Winnipeg|Halifax|St_Johns|"
                    r"Regina|Montreal|Mexico_City|Puerto_Rico)|US/.*|Canada/.*|Pacific/Honolulu)$")


def emergency_number(timezone: str) -> str:
    """The emergency number where the business is, from its timezone; a neutral phrase when unsure."""
    tz = (timezone or "").strip()
    if _US_CA.match(tz):
        return "911"
    if tz in ("Europe/London", "Europe/Belfast", "Europe/Guernsey", "Europe/Jersey", "Europe/Isle_of_Man"):
        return "999 (or 112)"
    if tz.startswith("Europe/") or tz in ("Asia/Kolkata", "Asia/Calcutta"):
        return "112"
    if tz.startswith("Australia/"):
        return "000"
    if tz in ("Pacific/Auckland", "NZ"):
        return "111"
    return "your local emergency number"


def role_caveats(role: Role | str, message: str, *, timezone: str = "UTC") -> list[str]:
    """The caveat lines the message calls for, urgent ones first (at most one urgent and one other)."""
    profile = role if isinstance(role, Role) else get_role(role)
    urgent = [c for c in profile.caveats if c.urgent and c.matches(message)][:1]
    other = [c for c in profile.caveats if not c.urgent and c.matches(message)][:1]
    return [c.text.format(emergency=emergency_number(timezone)) for c in urgent + other]
