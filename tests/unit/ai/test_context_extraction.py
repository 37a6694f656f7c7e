"""Context extraction: each field type read from realistic messages, with the near misses that must not fill a
field (a price asked about is not a budget, "2 kids" is not "2 bedrooms", a past date is not the visit), answers
to what the assistant asked, yes / no, corrections, and evidence that is the message's exact words.

The schemas are other businesses' (a letting agent, a salon, a law office, a gym, a removals firm), never the
benchmark's. The clock is injected: every test passes on any date."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from backend.ai.understanding.context_extraction import ContextField, check_value, extract_context

LONDON = "Europe/London"
NY = "America/New_York"
# Tuesday 10 March 2026, 09:30 in London.
TUE = datetime(2026, 3, 10, 9, 30, tzinfo=ZoneInfo(LONDON))

LETTINGS = [
    ContextField("deal", "Buy or rent", "choice", "Whether the client wants to buy or to rent", ("Buy", "Rent")),
    ContextField("area", "Area", "text", "Town or neighbourhood where the client wants to live"),
    ContextField("bedrooms", "Bedrooms", "number", "Number of bedrooms wanted", required=True),
    ContextField("children", "Children", "number", "How many kids live with the client"),
    ContextField("budget", "Budget", "money", "Most the client can pay per month", required=True),
    ContextField("parking", "Parking", "boolean", "Whether the client needs a parking space"),
    ContextField("viewing_date", "Viewing date", "date", "Day the client wants to view the property"),
    ContextField("viewing_time", "Viewing time", "time", "Time of the viewing"),
    ContextField("email", "E-mail", "email", "The client's e-mail address"),
    ContextField("phone", "Phone", "phone", "Number to call the client on"),
    ContextField("notes", "Agent notes", "long_text", "Private notes", ai_extract=False),
]
SALON = [
    ContextField("service", "Service", "choice", "The treatment booked",
                 ("Haircut", "Colouring", "Manicure", "Beard trim")),
    ContextField("extras", "Extras", "multi_choice", "Add-ons", ("Head massage", "Hair wash", "Styling")),
    ContextField("stylist", "Stylist", "person_name", "Name of the stylist the client asks for"),
    ContextField("appointment", "Appointment", "datetime", "When the appointment starts"),
    ContextField("length", "Length", "duration", "How long the client can stay"),
    ContextField("satisfaction", "Satisfaction", "rating", "How the client rates the last visit"),
]
LAW = [
    ContextField("matter", "Matter", "choice", "Area of law",
                 ("Family law", "Criminal defense", "Immigration", "Employment")),
    ContextField("opposing_party", "Opposing party", "text", "Name of the other side"),
    ContextField("deposit_share", "Deposit share", "percent", "Share of the fee paid up front"),
    ContextField("website", "Website", "url", "The client's company website"),
    ContextField("office_address", "Office address", "address", "Street address of the client's office"),
]


def extract(message, fields, *, previous="", requested=(), known=None, now=TUE, tz=LONDON, embed=None):
    values = extract_context(message, fields, now=now, timezone=tz, previous_turn=previous, requested=requested,
                             known=known, **({} if embed == "default" else {"embed": embed}))
    for v in values:
        assert message[v.start:v.end] == v.evidence or v.source == "confirmed", v
        assert 0 <= v.confidence <= 1
        spec = next(f for f in fields if f.key == v.key)
        assert check_value(spec, v.value) == (v.value, ""), v  # canonical JSON, as the storage side checks it
    return {v.key: v for v in values}


# ---------------------------------------------------------------- types


def test_numbers_go_to_the_field_their_words_name():
    got = extract("We have 2 kids and need 3 bedrooms near Clapham", LETTINGS)
    assert got["bedrooms"].value == 3 and got["bedrooms"].evidence == "3 bedrooms"
    assert got["children"].value == 2
    assert got["area"].value == "Clapham"
    # "2 kids" alone is not a number of bedrooms
    got = extract("I have 2 kids", LETTINGS)
    assert "bedrooms" not in got and got["children"].value == 2


def test_money_is_a_budget_when_stated_not_when_asked_about():
    got = extract("We can spend up to £1,800 a month, ideally in Brixton", LETTINGS)
    assert got["budget"].value == {"amount": 1800, "currency": "GBP"}
    assert got["budget"].evidence == "£1,800"
    assert "budget" not in extract("Is the rent £2,100 a month?", LETTINGS)
    assert "budget" not in extract("How much is the flat on Elm Road? Is it $2000?", LETTINGS)
    # a bare amount answering the budget question has no currency to report
    got = extract("about 1500", LETTINGS, previous="What's your monthly budget?")
    assert got["budget"].value == {"amount": 1500, "currency": ""}


def test_dates_times_and_datetimes_are_read_in_the_business_zone():
    got = extract("Could we view it on Friday at 5:30pm?", LETTINGS)
    assert got["viewing_date"].value == "2026-03-13" and got["viewing_date"].evidence == "Friday"
    assert got["viewing_time"].value == "17:30"
    got = extract("tomorrow at 10am with Sam please", SALON, tz=NY, now=datetime(2026, 3, 7, 20, 0,
                                                                                  tzinfo=ZoneInfo(NY)))
    # Sunday 8 March 2026 is the day New York's clocks go forward: 10:00 is already daylight time
    assert got["appointment"].value == "2026-03-08T10:00:00-04:00"
    assert got["stylist"].value == "Sam"


def test_a_date_already_past_is_not_the_viewing_date():
    got = extract("We moved in on 3 March 2025 and would like to view on the 20th", LETTINGS)
    assert got["viewing_date"].value == "2026-03-20"


def test_email_and_phone_are_canonical():
    got = extract("Reach me at Jane.Doe@Example.COM or 020 7946 0958", LETTINGS)
    assert got["email"].value == "jane.doe@example.com"
    assert got["email"].evidence == "Jane.Doe@Example.COM"
    got = extract("my mobile is (212) 555-0147", LETTINGS, tz=NY)
    assert got["phone"].value == "+12125550147"


def test_percent_duration_rating_url_and_address():
    got = extract("We'd pay 25% up front; see acme-widgets.com and our office at 221B Baker Street, London",
                  LAW, requested=["website"])
    assert got["deposit_share"].value == 25
    assert got["website"].value == "https://acme-widgets.com"
    assert got["office_address"].value.startswith("221B Baker Street")
    got = extract("I can stay an hour and a half; last time was 4 out of 5", SALON)
    assert got["length"].value == 90 and got["satisfaction"].value == 4


def test_choices_are_options_exactly_as_defined():
    got = extract("I'm after a beard trim, and a head massage plus styling if you can", SALON)
    assert got["service"].value == "Beard trim" and got["service"].evidence == "beard trim"
    assert got["extras"].value == ["Head massage", "Styling"]
    got = extract("Looking to rent a two-bed flat", LETTINGS)
    assert got["deal"].value == "Rent"


def test_a_choice_read_by_meaning_only_when_it_is_clear():
    got = extract("It's about my divorce", LAW, embed="default")
    assert got["matter"].value == "Family law"
    assert "matter" not in extract("The weather is nice today", LAW, embed="default")


def test_owner_only_fields_are_never_filled():
    assert "notes" not in extract("Please note I work nights", LETTINGS, requested=["notes"])


# ---------------------------------------------------------------- what the assistant asked


def test_an_answer_to_a_question_fills_the_field_asked_about():
    got = extract("3", LETTINGS, previous="Great. How many bedrooms do you need?")
    assert got["bedrooms"].value == 3 and "children" not in got
    got = extract("Probably Peckham, please", LETTINGS, previous="Which area are you looking in?")
    assert got["area"].value == "Peckham"
    got = extract("Haircut", SALON, requested=["service"])
    assert got["service"].value == "Haircut"


def test_yes_and_no_answer_a_yes_no_question():
    got = extract("no, we cycle", LETTINGS, previous="Thanks! Do you need a parking space?")
    assert got["parking"].value is False and got["parking"].evidence == "no"
    got = extract("Yes please", LETTINGS, previous="Will you need parking?")
    assert got["parking"].value is True
    # a "yes" to a question about something else fills nothing
    assert "parking" not in extract("yes", LETTINGS, previous="Would you like me to e-mail you the listing?")


def test_a_yes_confirms_what_the_assistant_proposed():
    got = extract("Yes, that's right", LETTINGS, previous="Shall I book the viewing for the 14th at 11am?")
    assert got["viewing_date"].value == "2026-03-14" and got["viewing_date"].source == "confirmed"
    assert got["viewing_time"].value == "11:00"
    assert got["viewing_date"].evidence == "Yes, that's right"
    # a no confirms nothing
    assert extract("No", LETTINGS, previous="Shall I book the viewing for the 14th?") == {}


def test_a_mention_is_a_yes_and_a_negated_mention_a_no():
    assert extract("We'd need parking for one car", LETTINGS)["parking"].value is True
    assert extract("We don't need parking", LETTINGS)["parking"].value is False
    # asking about the flat is not stating a need
    assert "parking" not in extract("Does it have parking?", LETTINGS)


# ---------------------------------------------------------------- corrections


def test_a_correction_is_flagged_when_it_changes_what_was_known():
    got = extract("Actually, make it three bedrooms", LETTINGS, known={"bedrooms": 2})
    assert got["bedrooms"].value == 3 and got["bedrooms"].corrects
    got = extract("No, Tuesday not Monday", LETTINGS, known={"viewing_date": "2026-03-16"})
    assert got["viewing_date"].value == "2026-03-17" and got["viewing_date"].corrects
    # the same value again, or a first statement, corrects nothing
    assert not extract("3 bedrooms", LETTINGS, known={"bedrooms": 3})["bedrooms"].corrects
    assert not extract("Actually we need 3 bedrooms", LETTINGS, known={})["bedrooms"].corrects


def test_within_one_message_the_corrected_value_wins():
    got = extract("2 bedrooms, sorry, I mean 3 bedrooms", LETTINGS)
    assert got["bedrooms"].value == 3 and got["bedrooms"].start == "2 bedrooms, sorry, I mean ".__len__()


def test_evidence_is_the_exact_substring_with_its_span():
    message = "Hi!  We'd like   to RENT in  Hackney, 2 bedrooms, max $2,500/month."
    got = extract(message, LETTINGS)
    for v in got.values():
        assert message[v.start:v.end] == v.evidence
    assert got["deal"].evidence == "RENT" and got["deal"].value == "Rent"
    assert got["budget"].value == {"amount": 2500, "currency": "USD"}


@pytest.mark.parametrize("value, ok", [
    ({"amount": 12.5, "currency": "EUR"}, True), ({"amount": "12", "currency": "EUR"}, True),
    ({"amount": 12, "currency": "euros"}, False), ({"amount": -3, "currency": ""}, False), (12, False),
])
def test_money_values_are_checked(value, ok):
    f = ContextField("fee", type="money")
    checked, problem = check_value(f, value)
    assert (problem == "") is ok
