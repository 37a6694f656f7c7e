"""The embedded composer (extractive answers, templates, custom instructions) and the LLM composer's prompt and
parsing, with the real packaged MiniLM embedder. No database."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from backend.ai.replies.composer import (
    ANSWERED_CONFIDENCE,
    RECOMMENDED_AUTO_SEND,
    compose_reply,
    confidence_from_raw,
    extract_answer,
    passage_units,
    say_date,
    split_sentences,
)
from backend.ai.replies.llm_composer import build_messages, compose_with_llm, parse_reply
from backend.ai.types import ComposeRequest, Entity, IntentResult, Passage, Persona, Turn
from backend.providers.embeddings import get_embedder


def P(chunk_id: int, document_id: int, title: str, text: str, page: int | None = None, heading: str = "",
      score: float = 0.6) -> Passage:
    return Passage(chunk_id=chunk_id, document_id=document_id, document_title=title, text=text, score=score,
                   page=page, heading=heading)


DENTAL = [
    P(1, 1, "Price list", "Treatments and prices\n\nCheck-up & cleaning: $120 (45 minutes)\nTeeth whitening: $350 per "
      "session\nFilling: from $150\nEmergency visit: $90\n\nPayment is due at the end of each visit. We accept cash, "
      "debit and credit cards.", page=1, heading="Treatments and prices"),
    P(2, 2, "Practice guide", "Opening hours\n\nMonday to Friday: 9:00–12:00 and 13:00–18:00\nSaturday: 9:00–13:00\n"
      "Sunday: closed\n\nWe are closed on public holidays. Emergency appointments are available every weekday "
      "morning.", page=2, heading="Opening hours"),
    P(3, 2, "Practice guide", "We accept most major dental insurance plans, including Delta Dental, Cigna and Aetna. "
      "Please bring your insurance card to your first visit. We bill your insurer directly, and you only pay the part "
      "your plan does not cover. Patients without insurance can join our membership plan for $25 a month.", page=3,
      heading="Insurance"),
    P(4, 2, "Practice guide", "Cancellation policy\n\nPlease give us at least 24 hours' notice if you need to cancel "
      "or move an appointment. Late cancellations and missed appointments are charged a $40 fee. You can cancel by "
      "phone at (555) 010-2030 or by replying to your reminder text.", page=4, heading="Cancellation policy"),
    P(5, 3, "FAQ", "Q: Is there parking?\nA: Yes. Free parking is available behind the building, entrance on Oak "
      "Street. The lot has two accessible spaces."),
    P(6, 3, "FAQ", "Q: Do you treat children?\nA: Yes, we see children from age 3. Dr. Patel is our paediatric "
      "specialist, and kids get a free toothbrush at every visit."),
    P(7, 4, "About us", "Bright Smile Dental has cared for families in Springfield since 2004. Our team of four "
      "dentists and six hygienists uses digital x-rays, which lower radiation by up to 80%. We are located at 42 Main "
      "Street, on the second floor above the pharmacy.", page=1),
]
RESTAURANT = [
    P(11, 11, "Menu", "Pasta\n- Spaghetti carbonara: $18\n- Lasagne al forno: $19\n- Penne arrabbiata (vegan): $15\n"
      "- Gluten-free pasta available for any dish: +$3", page=1, heading="Pasta"),
    P(12, 11, "Menu", "Desserts\n- Tiramisu: $9\n- Panna cotta: $8\n- Affogato: $7", page=2, heading="Desserts"),
    P(13, 12, "Reservations", "We take reservations for groups of up to 12 people. For larger parties or private "
      "events, please contact us by email at events@luigis.example. Tables are held for 15 minutes after the booking "
      "time."),
    P(14, 12, "Opening hours", "Lunch is served Tuesday to Sunday from 12:00 to 14:30. Dinner is served Tuesday to "
      "Saturday from 18:00 to 22:30. We are closed on Mondays."),
    P(15, 13, "FAQ", "Q: Do you have vegetarian options?\nA: Yes. About half of our menu is vegetarian, and every "
      "pizza can be made with vegan cheese."),
]
SALON = [
    P(21, 21, "Services", "Women's cut and blow-dry: $65. Men's cut: $35. Full colour from $95; a patch test is "
      "needed 48 hours before your first colour appointment. Balayage from $180.", page=1),
    P(22, 22, "Policies", "Arrive five minutes early so we can start on time. If you are more than 15 minutes late, "
      "we may need to shorten or reschedule your treatment. Gift cards are valid for 12 months."),
]
LAW = [
    P(31, 31, "Consultations", "Your first consultation lasts 30 minutes and costs $150. We offer free initial calls "
      "for employment disputes. Consultations can be held in person or by video."),
    P(32, 32, "Areas of practice", "We advise on family law, employment law, wills and probate, and residential "
      "property. We do not handle criminal cases."),
]
GYM = [
    P(41, 41, "Membership", "Monthly membership is $49 and includes all group classes. Students pay $35 with a valid "
      "student ID. There is no joining fee and you can cancel with 30 days' notice."),
    P(42, 42, "Timetable", "Yoga runs on Monday and Wednesday at 18:30. Spin classes are on Tuesday, Thursday and "
      "Saturday at 7:00. The gym is open from 6:00 to 22:00 every day."),
]
HOTEL = [
    P(51, 51, "Check-in", "Check-in starts at 15:00 and check-out is until 11:00. Early check-in from 12:00 can be "
      "arranged for $30, subject to availability. Luggage can be stored at reception for free."),
    P(52, 52, "Amenities", "Breakfast is served from 7:00 to 10:30 in the garden restaurant. The rooftop pool is "
      "open from May to September. Pets under 10 kg are welcome for $20 per night."),
]
KBS = {"dental": DENTAL, "restaurant": RESTAURANT, "salon": SALON, "law": LAW, "gym": GYM, "hotel": HOTEL}

# The labelled set: (business, question, answerable from its documents, what the answer must say). For each
# question the passages are the business's 4 closest by cosine, as retrieval would give them, so an unanswerable
# question comes with related-but-wrong passages (implants → the price list), not with random text.
LABELLED = [
    ("dental", "How much is teeth whitening?", True, "$350"),
    ("dental", "What does a check-up cost?", True, "$120"),
    ("dental", "When are you open on Saturday?", True, "9:00–13:00"),
    ("dental", "Are you open on Sundays?", True, "closed"),
    ("dental", "Do you take Cigna insurance?", True, "Cigna"),
    ("dental", "What happens if I cancel late?", True, "$40"),
    ("dental", "How much notice do I need to give to cancel?", True, "24 hours"),
    ("dental", "Is there parking?", True, "behind the building"),
    ("dental", "Where can I park my car?", True, "behind the building"),
    ("dental", "Do you see kids?", True, "age 3"),
    ("dental", "What's your address?", True, "42 Main Street"),
    ("dental", "Which payment methods do you accept?", True, "credit cards"),
    ("dental", "I don't have insurance, is there a plan for me?", True, "$25"),
    ("restaurant", "How much is the lasagne?", True, "$19"),
    ("restaurant", "Do you have gluten free pasta?", True, "Gluten-free"),
    ("restaurant", "When do you serve dinner?", True, "18:00"),
    ("restaurant", "Are you open on Mondays?", True, "closed on Mondays"),
    ("restaurant", "Can I book a table for 20 people?", True, "12 people"),
    ("restaurant", "Any vegetarian dishes?", True, "vegetarian"),
    ("salon", "How much is a men's haircut?", True, "$35"),
    ("salon", "Do I need a patch test before colouring?", True, "patch test"),
    ("salon", "How long are gift cards valid?", True, "12 months"),
    ("law", "How much is a first consultation?", True, "$150"),
    ("law", "Can we meet over video?", True, "video"),
    ("law", "Do you take criminal cases?", True, "criminal"),
    ("gym", "How much is a membership?", True, "$49"),
    ("gym", "When is yoga?", True, "18:30"),
    ("gym", "Is there a student discount?", True, "$35"),
    ("hotel", "What time is check-in?", True, "15:00"),
    ("hotel", "Can I bring my dog?", True, "Pets"),
    ("hotel", "What time is breakfast?", True, "7:00"),
    ("dental", "Do you offer Invisalign braces?", False, ""),
    ("dental", "How much are dental implants?", False, ""),
    ("dental", "Can I get sedation because I'm anxious?", False, ""),
    ("dental", "Do you sell electric toothbrushes?", False, ""),
    ("dental", "What is the wifi password?", False, ""),
    ("dental", "Does anyone there speak Spanish?", False, ""),
    ("dental", "How long does a root canal take?", False, ""),
    ("restaurant", "Do you have a kids menu?", False, ""),
    ("restaurant", "Do you deliver?", False, ""),
    ("restaurant", "Is there live music on Fridays?", False, ""),
    ("restaurant", "Can I bring my own wine?", False, ""),
    ("salon", "Do you do nail extensions?", False, ""),
    ("salon", "Do you sell shampoo?", False, ""),
    ("law", "What are your office hours?", False, ""),
    ("law", "Who is the senior partner?", False, ""),
    ("gym", "Do you have a sauna?", False, ""),
    ("gym", "Can I bring a friend for free?", False, ""),
    ("hotel", "Is there an airport shuttle?", False, ""),
    ("hotel", "Do you have a gym?", False, ""),
    ("hotel", "Is the wifi free?", False, ""),
]


@pytest.fixture(scope="module")
def embedder():
    return get_embedder()


def persona(**kw) -> Persona:
    values = dict(business_name="Bright Smile Dental", assistant_name="Ava", role="medical",
                  personality="friendly", timezone="America/New_York")
    values.update(kw)
    return Persona(**values)


def request(message: str, passages=(), intent: str = "question", *, confidence: float = 0.9, first: bool = False,
            entities=(), history=(), **persona_kw) -> ComposeRequest:
    return ComposeRequest(message=message, persona=persona(**persona_kw), intent=IntentResult(intent, confidence),
                          entities=tuple(entities), passages=tuple(passages), history=tuple(history),
                          first_reply=first)


def retrieve(embedder, business: str, question: str, k: int = 4) -> list[Passage]:
    kb = KBS[business]
    vectors = np.asarray(embedder.embed([question] + [f"{p.heading}\n{p.text}" for p in kb]))
    order = np.argsort(-(vectors[1:] @ vectors[0]), kind="stable")[:k]
    return [kb[i] for i in order]


# --- cutting passages ---------------------------------------------------------------------------------------------


def test_sentences_keep_abbreviations_and_short_answers_together():
    text = "Yes. Dr. Patel sees children from 9 a.m. on weekdays, e.g. for check-ups. Call us! Parking is free."
    assert split_sentences(text) == [
        "Yes. Dr. Patel sees children from 9 a.m. on weekdays, e.g. for check-ups.", "Call us! Parking is free."]


def test_units_keep_faq_answers_list_items_and_table_rows():
    faq = passage_units(DENTAL[4])
    assert [u.text for u in faq] == ["Yes. Free parking is available behind the building, entrance on Oak Street.",
                                     "The lot has two accessible spaces."]
    assert all(u.faq and u.context == "Is there parking?" for u in faq)

    menu = passage_units(RESTAURANT[0])
    assert [u.text for u in menu][:2] == ["Spaghetti carbonara: $18", "Lasagne al forno: $19"]
    assert all(u.item and u.context == "Pasta" for u in menu)

    table = P(90, 90, "Prices.csv", "Service: Cut\nPrice: $30\nService: Colour\nPrice: $80")
    assert [u.text for u in passage_units(table)] == ["Service: Cut; Price: $30", "Service: Colour; Price: $80"]

    wrapped = P(91, 91, "Notes.txt", "We accept most major dental insurance plans, including\nDelta Dental, Cigna "
                                      "and Aetna. Please bring your insurance\ncard to your first visit.")
    assert [u.text for u in passage_units(wrapped)] == [  # hard-wrapped prose is prose, not a list of fragments
        "We accept most major dental insurance plans, including Delta Dental, Cigna and Aetna.",
        "Please bring your insurance card to your first visit."]
    titled = P(92, 92, "Guide", "Opening hours\nMonday to Friday 9 to 5\nSaturday 10 to 2")
    assert [(u.text, u.context) for u in passage_units(titled)] == [
        ("Monday to Friday 9 to 5", "Opening hours"), ("Saturday 10 to 2", "Opening hours")]

    hours = passage_units(DENTAL[1])
    assert hours[0].text == "Monday to Friday: 9:00–12:00 and 13:00–18:00" and hours[0].context == "Opening hours"
    assert hours[-1].text == "Emergency appointments are available every weekday morning." and not hours[-1].item


# --- extractive answers ---------------------------------------------------------------------------------------------


def test_price_answer_is_the_right_sentence_of_a_multi_sentence_passage(embedder):
    reply = compose_reply(request("How much is a men's haircut?", SALON), embedder=embedder)
    assert reply.kind == "answer" and reply.answered
    assert "Men's cut: $35." in reply.text
    assert "$65" not in reply.text and "$180" not in reply.text  # not the whole chunk
    assert reply.confidence >= RECOMMENDED_AUTO_SEND
    [citation] = reply.citations
    assert (citation.document_id, citation.document_title, citation.chunk_id, citation.page) == (21, "Services", 21, 1)
    assert citation.quote == "Men's cut: $35."


def test_hours_answer_reads_the_hours_list(embedder):
    reply = compose_reply(request("When are you open on Saturday?", DENTAL[:4], intent="opening_hours"),
                          embedder=embedder)
    assert reply.answered and "Saturday: 9:00–13:00" in reply.text
    assert "$" not in reply.text
    assert reply.citations[0].page == 2 and reply.citations[0].document_title == "Practice guide"

    whole = compose_reply(request("What are your opening hours?", DENTAL[:4], intent="opening_hours"),
                          embedder=embedder)
    assert whole.answered
    for line in ("Monday to Friday: 9:00–12:00 and 13:00–18:00", "Saturday: 9:00–13:00", "Sunday: closed"):
        assert f"• {line}" in whole.text  # a question about the whole list gets the whole list, a line each
    assert "Opening hours:" in whole.text


def test_policy_answer_takes_the_sentences_that_belong_together(embedder):
    reply = compose_reply(request("What happens if I cancel late?", DENTAL[3:4]), embedder=embedder)
    assert reply.answered
    assert "Late cancellations and missed appointments are charged a $40 fee." in reply.text
    assert "(555) 010-2030" not in reply.text
    assert reply.citations[0].quote in DENTAL[3].text
    assert reply.citations[0].quote in reply.text


def test_faq_answer_part_is_the_answer(embedder):
    reply = compose_reply(request("Where can I park?", [DENTAL[4], DENTAL[6]]), embedder=embedder)
    assert reply.answered
    assert "Free parking is available behind the building" in reply.text
    assert "Q:" not in reply.text and "Is there parking?" not in reply.text
    assert [c.document_title for c in reply.citations] == ["FAQ"]
    assert reply.citations[0].page is None


def test_unrelated_passages_fall_back_to_the_team(embedder):
    reply = compose_reply(request("Do you offer Invisalign braces?", GYM + HOTEL), embedder=embedder)
    assert reply.kind == "fallback" and not reply.answered
    assert reply.confidence <= 0.2
    assert reply.citations == ()
    assert "check" in reply.text and "team" in reply.text

    nothing = compose_reply(request("Do you offer Invisalign braces?", ()), embedder=embedder)
    assert nothing.kind == "fallback" and not nothing.answered


def test_an_embedder_failure_asks_the_team_instead_of_failing():
    from backend.providers.embeddings import EmbeddingError

    class Broken:
        name = "broken"

        def embed(self, texts):
            raise EmbeddingError("the embedding service is unreachable")

    reply = compose_reply(request("How much is teeth whitening?", DENTAL[:1]), embedder=Broken())
    assert reply.kind == "fallback" and not reply.answered and reply.confidence <= 0.2


def test_labelled_set_threshold_separates_answers_from_gaps(embedder):
    """The threshold on the labelled set: no unanswerable question is answered, nearly every answerable one is,
    with the right fact, and the raw scores of the two groups are well apart."""
    positives, negatives, right = [], [], 0
    for business, question, answerable, must in LABELLED:
        passages = retrieve(embedder, business, question)
        extraction = extract_answer(question, passages, embedder=embedder)
        reply = compose_reply(request(question, passages), embedder=embedder)
        assert reply.answered == extraction.answered
        if answerable:
            positives.append(extraction.raw)
            right += reply.answered and must in reply.text
        else:
            negatives.append(extraction.raw)
            assert not reply.answered, (question, reply.text)
            assert reply.kind == "fallback"
    assert right >= 0.9 * len(positives)
    assert np.mean(positives) - np.mean(negatives) > 0.25
    assert np.median(positives) > np.percentile(negatives, 95) + 0.1


def test_confidence_is_one_half_at_the_threshold_and_rises_with_the_score():
    from backend.ai.replies.composer import ANSWER_RAW_THRESHOLD

    assert confidence_from_raw(ANSWER_RAW_THRESHOLD) == pytest.approx(ANSWERED_CONFIDENCE)
    assert confidence_from_raw(0.3) < 0.2 < 0.8 < confidence_from_raw(0.55)


def test_replies_are_deterministic_and_short(embedder):
    long_passage = P(80, 80, "Handbook", " ".join(
        f"Rule {i}: treatment number {i} costs ${100 + i} and takes {20 + i} minutes in room {i}." for i in range(40)))
    req = request("How much does treatment number 7 cost and how long does it take?", [long_passage],
                  custom_instructions="Always greet with 'Welcome to Bright Smile Dental, the friendliest practice "
                                      "in Springfield!'. Always remind people to bring their insurance card and "
                                      "their ID. Sign off with 'Have a sparkling day, from all of us!'",
                  first=True)
    first, second = compose_reply(req, embedder=embedder), compose_reply(req, embedder=embedder)
    assert first == second
    assert len(first.text) <= 600
    assert "$107" in first.text


# --- templates ---------------------------------------------------------------------------------------------------


def test_first_greeting_introduces_the_assistant_and_later_ones_are_short():
    first = compose_reply(request("hello!", intent="greeting", first=True))
    assert first.kind == "greeting" and first.answered
    assert "Ava" in first.text and "Bright Smile Dental" in first.text
    later = compose_reply(request("hello!", intent="greeting", first=False))
    assert "Bright Smile Dental" not in later.text and len(later.text) < len(first.text) / 2


def test_greeting_with_a_question_answers_it(embedder):
    reply = compose_reply(request("Hi! How much is teeth whitening?", DENTAL[:2], intent="greeting", first=True),
                          embedder=embedder)
    assert reply.kind == "answer" and "$350" in reply.text and "Bright Smile Dental" in reply.text


def test_thanks_and_acknowledgements():
    thanks = compose_reply(request("thank you so much", intent="thanks"))
    assert thanks.kind == "thanks" and ("welcome" in thanks.text.lower() or "Anytime" in thanks.text)
    ok = compose_reply(request("ok", intent="other"))
    assert ok.kind == "thanks" and ok.answered


def test_handoff_words_for_a_person_a_complaint_and_an_unsure_answer():
    person = compose_reply(request("Can I talk to a real person please?", intent="human"))
    assert person.kind == "handoff" and "team" in person.text and "reply" in person.text
    complaint = compose_reply(request("I waited an hour, this is unacceptable", intent="complaint",
                                      personality="empathetic"))
    assert complaint.kind == "handoff" and "sorry" in complaint.text.lower() and "get back to you" in complaint.text
    notice = compose_reply(request("How much are implants?", intent="human"))  # the engine's hand-off notice
    assert notice.kind == "handoff" and not notice.text.startswith("Of course")

    # the words promise a person: a lukewarm complaint guess is less sure (drafted), and still carries the caveats
    unsure = compose_reply(request("my tooth hurts and my cheek is swollen", intent="complaint", confidence=0.23))
    assert unsure.confidence < RECOMMENDED_AUTO_SEND <= complaint.confidence
    assert "can't give medical advice" in unsure.text


def test_booking_asks_for_what_is_missing():
    reply = compose_reply(request("I'd like to book an appointment", intent="book"))
    assert reply.kind == "clarify"
    assert "What is the visit for, and what day and time would suit you?" in reply.text

    service = Entity("service", "a check-up", "a check-up", 0, 10, 0.9)
    with_service = compose_reply(request("Can I book a check-up?", intent="book", entities=[service]))
    assert "What day and time would suit you?" in with_service.text and "visit for" not in with_service.text


def test_booking_repeats_a_known_date_and_time_in_words():
    entities = [Entity("date", "2026-12-01", "Tuesday", 20, 27, 0.9, "date"),
                Entity("time", "10:00", "at 10", 28, 33, 0.9, "time"),
                Entity("service", "a cleaning", "a cleaning", 8, 18, 0.9)]
    reply = compose_reply(request("Book me a cleaning Tuesday at 10", intent="book", entities=entities))
    assert reply.kind == "clarify"
    assert "Tuesday 1 December at 10:00" in reply.text
    assert "confirm" in reply.text and "the practice team" in reply.text.lower()
    assert say_date(date(2026, 11, 27)) == "Friday 27 November"


def test_booking_offers_back_an_ambiguous_date_and_asks_a_restaurant_party_size():
    ambiguous = Entity("date", "2026-12-03", "next Thursday", 10, 23, 0.6, "date", ("2026-12-10",))
    reply = compose_reply(request("Book me in next Thursday", intent="book", entities=[ambiguous]))
    assert "Did you mean Thursday 3 December or Thursday 10 December?" in reply.text

    table = compose_reply(request("A table tomorrow at 7pm please", intent="book", role="restaurant",
                                  entities=[Entity("date", "2026-11-27", "tomorrow", 8, 16, 0.9, "date"),
                                            Entity("time", "19:00", "7pm", 20, 23, 0.9, "time")]))
    assert "Friday 27 November at 19:00" in table.text and "How many people" in table.text


def test_cancel_and_reschedule_are_clarified():
    cancel = compose_reply(request("I need to cancel my appointment", intent="cancel", personality="professional"))
    assert cancel.kind == "clarify" and "cancel" in cancel.text and "day and time" in cancel.text
    assert "I'd" not in cancel.text and "would" in cancel.text  # professional: no contractions
    move = compose_reply(request("Can we move it to Friday?", intent="reschedule",
                                 entities=[Entity("date", "2026-12-04", "Friday", 17, 23, 0.9, "date")]))
    assert "Friday 4 December" in move.text and "What time would suit you?" in move.text


# --- custom instructions ------------------------------------------------------------------------------------------


def test_greeting_sign_off_and_always_add_are_honoured(embedder):
    rules = ("Always greet with 'Welcome to Bright Smile!'. Sign off with 'Have a sparkling day!'. "
             "Always remind people to bring their insurance card.")
    first = compose_reply(request("How much is teeth whitening?", DENTAL[:1], first=True, custom_instructions=rules),
                          embedder=embedder)
    assert first.text.startswith("Welcome to Bright Smile!")
    assert "$350" in first.text
    assert "Please remember to bring your insurance card." in first.text
    assert first.text.endswith("Have a sparkling day!")

    history = [Turn("customer", "How much is whitening?"), Turn("assistant", first.text)]
    later = compose_reply(request("And a filling?", DENTAL[:1], custom_instructions=rules, history=history),
                          embedder=embedder)
    assert not later.text.startswith("Welcome to Bright Smile!")  # the greeting opens the first reply only
    assert "insurance card" not in later.text  # said once in a conversation
    assert later.text.endswith("Have a sparkling day!") and later.text.count("Have a sparkling day!") == 1


def test_never_mention_removes_a_sentence_or_falls_back(embedder):
    parking = P(60, 60, "FAQ", "Q: Is there parking?\nA: Free parking is available behind the building. Our "
                               "competitor next door charges $5 for parking.")
    plain = compose_reply(request("Is there parking?", [parking]), embedder=embedder)
    assert "competitor" in plain.text
    filtered = compose_reply(request("Is there parking?", [parking], custom_instructions="Never mention competitors"),
                             embedder=embedder)
    assert filtered.answered and "behind the building" in filtered.text
    assert "competitor" not in filtered.text and "$5" not in filtered.text
    assert "competitor" not in filtered.citations[0].quote

    # the sentence that answers is the forbidden one: what is left does not answer, so the team is asked
    street = compose_reply(request("Is there parking?", DENTAL[4:5], custom_instructions="Never mention Oak Street."),
                           embedder=embedder)
    assert street.kind == "fallback" and "accessible spaces" not in street.text and "Oak" not in street.text

    prices = compose_reply(request("How much is teeth whitening?", DENTAL[:1],
                                   custom_instructions="Don't discuss prices."), embedder=embedder)
    assert prices.kind == "fallback" and not prices.answered and "$" not in prices.text


def test_conditional_instruction_adds_its_line_when_the_subject_comes_up(embedder):
    rules = "For tooth pain with swelling or fever, tell them to call us at (555) 010-2030 right away."
    reply = compose_reply(request("My face is swollen, how much is an emergency visit?", DENTAL[:1],
                                  custom_instructions=rules), embedder=embedder)
    assert "Emergency visit: $90." in reply.text
    assert "Please call us at (555) 010-2030 right away." in reply.text
    other = compose_reply(request("How much is an emergency visit?", DENTAL[:1], custom_instructions=rules),
                          embedder=embedder)
    assert "(555) 010-2030" not in other.text


# --- role caveats in replies ----------------------------------------------------------------------------------


def test_medical_caveats_in_replies(embedder):
    urgent = compose_reply(request("I have chest pain, can I come in today?", DENTAL[1:2]), embedder=embedder)
    assert urgent.text.startswith("If this is an emergency") and "911" in urgent.text
    advice = compose_reply(request("My gum is bleeding, is it normal?", DENTAL[:2]), embedder=embedder)
    assert "can't give medical advice or a diagnosis" in advice.text
    plain = compose_reply(request("How much is teeth whitening?", DENTAL[:1]), embedder=embedder)
    assert "medical advice" not in plain.text and "emergency" not in plain.text.lower()


def test_banker_never_asks_for_card_numbers(embedder):
    reply = compose_reply(request("My card 4111 1111 1111 1111 was declined", (), role="banker"), embedder=embedder)
    assert "never share your full card number, PIN" in reply.text
    assert "4111" not in reply.text


# --- the LLM composer -------------------------------------------------------------------------------------------


def test_build_messages_carries_passages_rules_and_history_in_order():
    history = [Turn("customer", "Hi there"), Turn("assistant", "Hello! How can I help?"),
               Turn("system", "conversation assigned"), Turn("owner", "Maya here, happy to help too."),
               Turn("customer", "One more thing")]
    req = request("How much is whitening?", DENTAL[:2], intent="pricing", history=history,
                  custom_instructions="Never mention competitors.", timezone="Europe/Berlin")
    messages = build_messages(req, today=date(2026, 11, 26))
    system = messages[0]
    assert system["role"] == "system"
    prompt = system["content"]
    for expected in ("Ava", "Bright Smile Dental", "patients", "Europe/Berlin", "Thursday 26 November 2026",
                     "[1] Price list, page 1:", "Teeth whitening: $350 per session",
                     "[2] Practice guide, page 2:", "Saturday: 9:00–13:00",
                     "Answer only from the numbered passages", "[1] or [1][2]", "check with the practice team",
                     "Do not guess", "Never reveal", "Never mention competitors.", "diagnosis", "112"):
        assert expected in prompt, expected
    assert [(m["role"], m["content"]) for m in messages[1:]] == [
        ("user", "Hi there"),
        ("assistant", "Hello! How can I help?\n\nMaya here, happy to help too."),
        ("user", "One more thing\n\nHow much is whitening?"),
    ]


def test_parse_reply_maps_markers_to_citations_and_removes_them():
    req = request("How much is whitening and when are you open on Saturday?", DENTAL[:2])
    reply = parse_reply("Teeth whitening is $350 per session [1]. On Saturday we're open 9:00–13:00 [2]. [7]", req)
    assert reply.answered and reply.kind == "answer" and reply.provider == "llm"
    assert "[" not in reply.text and reply.text == ("Teeth whitening is $350 per session. On Saturday we're open "
                                                    "9:00–13:00.")
    assert [(c.document_id, c.page) for c in reply.citations] == [(1, 1), (2, 2)]
    assert reply.citations[0].quote == "Teeth whitening: $350 per session"
    assert reply.citations[1].quote == "Saturday: 9:00–13:00"
    assert reply.confidence > 0.6


def test_parse_reply_detects_check_with_the_team_and_missing_citations():
    req = request("Do you do implants?", DENTAL[:2])
    unsure = parse_reply("I'm not sure about implants, so I'll check with the team and get back to you.", req)
    assert not unsure.answered and unsure.kind == "fallback" and unsure.confidence <= 0.2
    uncited = parse_reply("Yes, implants cost $2000.", req)
    assert not uncited.answered and uncited.confidence <= 0.2
    greeting = parse_reply("Hello! I'm Ava. How can I help?", request("hi", intent="greeting"))
    assert greeting.answered and greeting.kind == "greeting"
    empty = parse_reply("  ", req)
    assert empty.kind == "fallback" and not empty.answered and "check" in empty.text


def test_parse_reply_lowers_confidence_for_numbers_not_in_the_passages_and_drops_forbidden_sentences():
    req = request("How much is whitening?", DENTAL[:1], custom_instructions="Never mention competitors")
    grounded = parse_reply("Whitening is $350 per session [1].", req)
    invented = parse_reply("Whitening is $299 per session [1].", req)
    assert invented.confidence < grounded.confidence - 0.2
    filtered = parse_reply("Whitening is $350 [1]. Our competitors charge more.", req)
    assert filtered.text == "Whitening is $350."


def test_compose_with_llm_uses_the_provider_and_lets_errors_through():
    class FakeLLM:
        name = "fake-llm"

        def __init__(self, text: str | None = None):
            self.text, self.calls = text, []

        def complete(self, messages, **kw):
            self.calls.append(messages)
            if self.text is None:
                raise TimeoutError("provider down")
            return type("Result", (), {"text": self.text, "tool_calls": []})()

    llm = FakeLLM("Teeth whitening is $350 per session [1].")
    reply = compose_with_llm(request("How much is whitening?", DENTAL[:1]), llm)
    assert reply.provider == "fake-llm" and reply.answered and reply.citations[0].document_id == 1
    assert llm.calls[0][0]["role"] == "system" and llm.calls[0][-1]["content"] == "How much is whitening?"
    with pytest.raises(TimeoutError):
        compose_with_llm(request("How much is whitening?", DENTAL[:1]), FakeLLM(None))


def test_the_confidence_ceiling_bounds_every_answer_the_model_can_write():
    from backend.ai.replies.llm_composer import confidence_ceiling

    req = request("How much is whitening and when are you open on Saturday?", DENTAL[:2])
    ceiling = confidence_ceiling(req)
    answers = ["Teeth whitening is $350 per session [1]. On Saturday we're open 9:00–13:00 [2].",
               "Whitening is $350 [1].", "Saturday: 9:00–13:00 [2]", "Whitening is $299 [1].",
               "I'll check with the team and get back to you.", "Yes.", "[1][2]"]
    confidences = [parse_reply(a, req).confidence for a in answers]
    assert max(confidences) <= ceiling and max(confidences) > ceiling - 0.1  # a bound, and a tight one
    # Without passages, only a fallback can be written; a greeting needs none.
    assert confidence_ceiling(request("Do you do implants?", [])) <= 0.15
    hello = request("hi", intent="greeting")
    assert parse_reply("Hello! I'm Ava. How can I help?", hello).confidence <= confidence_ceiling(hello)


def test_a_reply_may_be_watched_while_written_only_when_it_could_be_sent():
    from backend.ai.replies.policy import may_send

    question = IntentResult("pricing", 0.9)
    kwargs = dict(intent=question, confidence_ceiling=0.8, auto_send_threshold=0.75)
    assert may_send(reply_policy="auto_above_threshold", **kwargs)
    assert may_send(reply_policy="always_send", **kwargs)
    assert not may_send(reply_policy="always_draft", **kwargs)
    assert not may_send(reply_policy="always_send", ai_paused=True, **kwargs)
    assert not may_send(reply_policy="auto_above_threshold", intent=question, confidence_ceiling=0.7,
                        auto_send_threshold=0.75)
    assert not may_send(reply_policy="always_send", intent=question, confidence_ceiling=0.15, auto_send_threshold=0.5)
    assert not may_send(reply_policy="always_send", intent=IntentResult("complaint", 0.8), confidence_ceiling=0.9,
                        auto_send_threshold=0.5)
