"""Intent classification (backend.ai.understanding.intents) and the custom intents service (backend.ai.custom_intents).

Real embedder (the packaged MiniLM), real databases (the `db` fixture: SQLite and PostgreSQL).
"""

from __future__ import annotations

import time

import pytest

from backend.ai import custom_intents
from backend.ai.classifiers import cached_classifier_count, classifier_for_workspace, fingerprint, workspace_intents
from backend.ai.types import IntentResult
from backend.ai.understanding.intents import (
    BUILTIN_INTENT_LABELS,
    BUILTIN_INTENTS,
    OTHER,
    OTHER_THRESHOLD,
    IntentClassifier,
)
from backend.errors import NotFound, ServiceError
from tests.unit.messaging_helpers import make_workspace

CARD_ARRIVAL = ["I am still waiting on my card", "Has my new card been shipped yet?",
                "How long until my card arrives in the mail?", "My card hasn't come, what should I do?"]
LOST_CARD = ["I lost my card", "Someone stole my wallet with my card in it", "I can't find my bank card anywhere"]
PRIVATE_EVENT = ["Can we hire the whole restaurant for a birthday party?", "Do you host private events?",
                 "I'd like to rent the upstairs room for a company dinner"]


@pytest.fixture(scope="module")
def builtin_classifier() -> IntentClassifier:
    return IntentClassifier.train()


@pytest.fixture(scope="module")
def bank_classifier() -> IntentClassifier:
    return IntentClassifier.train({"card_arrival": CARD_ARRIVAL, "lost_or_stolen_card": LOST_CARD})


# --- the classifier -------------------------------------------------------------------------------------------------


def test_builtin_catalogue_is_complete():
    for name in ("greeting", "question", "book", "reschedule", "cancel", "pricing", "opening_hours", "human",
                 "complaint", "thanks"):
        assert 15 <= len(BUILTIN_INTENTS[name]) <= 30, name
        assert len(set(BUILTIN_INTENTS[name])) == len(BUILTIN_INTENTS[name]), f"{name} repeats an example"
        assert BUILTIN_INTENT_LABELS[name]
    assert OTHER not in BUILTIN_INTENTS and OTHER in BUILTIN_INTENT_LABELS


@pytest.mark.parametrize("message,expected", [
    ("Hey there!", "greeting"),
    ("good morning :)", "greeting"),
    ("Hello hello, good evening to you", "greeting"),
    ("I have to cancel my appointment on Thursday", "cancel"),
    ("pls cancel my reservation, we cant come", "cancel"),
    ("What time do you close on Saturdays?", "opening_hours"),
    ("are you open on easter monday", "opening_hours"),
    ("I'd like to speak to someone, not a bot", "human"),
    ("can a real person call me back", "human"),
    ("The waiter was rude and my steak was raw. Very disappointed.", "complaint"),
    ("This is the worst service I've ever had", "complaint"),
    ("Thank you, that's really helpful!", "thanks"),
    ("thx a lot", "thanks"),
    ("I'd like to book a table for 3 on Friday evening", "book"),
    ("Can I get an appointment for a cleaning next week?", "book"),
    ("Could we move my appointment to next Tuesday?", "reschedule"),
    ("How much do you charge for a consultation with a solicitor?", "pricing"),
    ("how much is a mens haircut", "pricing"),
    ("Do you have a parking lot?", "question"),
    ("Do you accept Delta Dental insurance?", "question"),
    ("How long does the appointment take?", "question"),  # about an appointment, not booking one
    ("Can I bring my kid to my appointment?", "question"),
    ("Is Friday at 4 free?", "book"),
    ("is 9am on the 10th ok for whitening?", "book"),
    ("bye, have a nice day", "goodbye"),
])
def test_builtins_classify_obvious_messages(builtin_classifier, message, expected):
    result = builtin_classifier.classify(message)
    assert result.name == expected, (message, result)
    assert result.builtin is True
    assert result.confidence >= 0.5, (message, result)


def test_a_result_is_well_formed(builtin_classifier):
    result = builtin_classifier.classify("Can I reschedule my haircut to Friday?")
    assert isinstance(result, IntentResult)
    assert result.name == "reschedule" and 0.0 <= result.confidence <= 1.0
    assert len(result.alternatives) == 2
    names = [name for name, _ in result.alternatives]
    assert result.name not in names and len(set(names)) == 2
    scores = [score for _, score in result.alternatives]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= result.confidence for s in scores)
    assert result.as_dict() == {"name": "reschedule", "confidence": round(result.confidence, 4)}


def test_custom_intent_beats_the_generic_question(builtin_classifier, bank_classifier):
    message = "when will my card arrive?"
    without = builtin_classifier.classify(message)
    assert without.name != "card_arrival"
    result = bank_classifier.classify(message)
    assert result.name == "card_arrival" and result.builtin is False
    assert result.confidence >= 0.5
    assert bank_classifier.classify("Help, my card was stolen yesterday").name == "lost_or_stolen_card"
    # the built-ins still answer what no custom intent covers
    assert bank_classifier.classify("hi!").name == "greeting"
    assert bank_classifier.classify("Can I talk to a human please?").name == "human"
    assert bank_classifier.classify("Do you have wheelchair access?").name == "question"


def test_custom_intent_wins_even_over_a_builtin_example():
    insurance = ["Do you take Aetna?", "Is my insurance plan accepted?", "Which insurance companies do you work with?",
                 "Can I use my Cigna coverage here?"]
    classifier = IntentClassifier.train({"insurance": insurance})
    # "Do you accept my insurance?" is word for word an example of the built-in "question"
    assert "Do you accept my insurance?" in BUILTIN_INTENTS["question"]
    assert classifier.classify("Do you accept my insurance?").name == "insurance"
    assert classifier.classify("is there parking").name == "question"


@pytest.mark.parametrize("message", ["asdkjh qwe zxcvb", "lorem ipsum dolor", "What is the capital of France?",
                                     "I like turtles", "???"])
def test_gibberish_and_off_topic_fall_back_to_other(bank_classifier, message):
    result = bank_classifier.classify(message)
    assert result.name == OTHER, result
    assert result.confidence < OTHER_THRESHOLD
    assert result.alternatives, "what it would have been is still shown"


@pytest.mark.parametrize("message", ["", "   ", "\n\t"])
def test_empty_text_is_other_with_no_confidence(bank_classifier, message):
    assert bank_classifier.classify(message) == IntentResult(OTHER, 0.0, (), True)


def test_classify_many_matches_classify(bank_classifier):
    messages = ["hello", "", "my card still has not arrived", "thanks!"]
    many = bank_classifier.classify_many(messages)
    assert [r.name for r in many] == ["greeting", OTHER, "card_arrival", "thanks"]
    for message, result in zip(messages, many):
        single = bank_classifier.classify(message)
        assert single.name == result.name and single.confidence == pytest.approx(result.confidence, abs=1e-3)
    with pytest.raises(TypeError):
        bank_classifier.classify_many("one string")


def test_custom_only_and_pairs():
    classifier = IntentClassifier.train([("card_arrival", CARD_ARRIVAL), ("lost_or_stolen_card", LOST_CARD)],
                                        include_builtin=False)
    assert classifier.names == ("card_arrival", "lost_or_stolen_card")
    assert classifier.classify("where is my card? it's been two weeks").name == "card_arrival"
    assert classifier.classify("hi").name != "greeting"
    # one intent alone still classifies (no regression to fit), and nothing at all answers "other"
    single = IntentClassifier.train({"card_arrival": CARD_ARRIVAL}, include_builtin=False)
    assert single.classify("has my card been sent?").name == "card_arrival"
    assert single.classify("qwertyuiop asdf").name == OTHER
    empty = IntentClassifier.train({}, include_builtin=False)
    assert empty.classify("hello").name == OTHER


def test_classification_is_fast(bank_classifier):
    bank_classifier.classify("warm up")
    text = "I ordered a card last week and it still hasn't arrived, when will I get it?"
    vector = bank_classifier.embedder.embed([text])
    started = time.perf_counter()
    for _ in range(20):
        bank_classifier.scores([text], vector)
    assert (time.perf_counter() - started) / 20 < 0.02  # on top of the embedding


# --- per workspace, with the service --------------------------------------------------------------------------------


def test_workspace_isolation(db):
    bank = make_workspace("north-bank", "North Bank")
    diner = make_workspace("blue-diner", "Blue Diner")
    card = custom_intents.save_custom_intent(bank.id, name="Card arrival", examples=CARD_ARRIVAL,
                                             description="Customers asking when their new card will arrive")
    event = custom_intents.save_custom_intent(diner.id, name="private_event", examples=PRIVATE_EVENT)
    assert card["name"] == "card_arrival" and card["examples"] == CARD_ARRIVAL

    assert [i["name"] for i in custom_intents.list_custom_intents(bank.id)] == ["card_arrival"]
    assert [i["name"] for i in custom_intents.list_custom_intents(diner.id)] == ["private_event"]
    assert workspace_intents(diner.id) == [("private_event", PRIVATE_EVENT)]

    assert classifier_for_workspace(bank.id).classify("When will my card arrive?").name == "card_arrival"
    diner_classifier = classifier_for_workspace(diner.id)
    assert "card_arrival" not in diner_classifier.names
    assert diner_classifier.classify("When will my card arrive?").name != "card_arrival"
    assert diner_classifier.classify("Could we rent the place for a wedding party?").name == "private_event"

    with pytest.raises(NotFound):
        custom_intents.delete_custom_intent(bank.id, event["id"])
    with pytest.raises(NotFound):
        custom_intents.save_custom_intent(bank.id, name="hijack", examples=CARD_ARRIVAL, intent_id=event["id"])
    assert [i["name"] for i in custom_intents.list_custom_intents(diner.id)] == ["private_event"]
    assert custom_intents.list_custom_intents(diner.id)[0]["examples"] == PRIVATE_EVENT


@pytest.mark.parametrize("kwargs,field,words", [
    ({"name": "   "}, "name", "name"),
    ({"name": "!!!"}, "name", "letter"),
    ({"name": "x" * 61}, "name", "60"),
    ({"name": "1st_visit"}, "name", "start with a letter"),
    ({"name": "Greeting"}, "name", "built-in"),
    ({"name": "opening hours"}, "name", "built-in"),
    ({"name": "other"}, "name", "built-in"),
    ({"examples": ["only one", "", "  "]}, "examples", "at least 3"),
    ({"examples": ["same", "Same", "SAME ", "other one"]}, "examples", "at least 3"),
    ({"examples": [f"example {i}" for i in range(51)]}, "examples", "At most 50"),
    ({"examples": ["fine", "also fine", "y" * 301]}, "examples", "Example 3 is too long"),
    ({"description": "d" * 301}, "description", "300"),
])
def test_validation_errors_name_the_field(db, kwargs, field, words):
    ws = make_workspace()
    values = {"name": "card_arrival", "examples": CARD_ARRIVAL, "description": ""} | kwargs
    with pytest.raises(ServiceError) as caught:
        custom_intents.save_custom_intent(ws.id, **values)
    assert caught.value.field == field
    assert words.lower() in caught.value.message.lower(), caught.value.message
    assert custom_intents.list_custom_intents(ws.id) == []


def test_names_are_normalised_and_unique_per_workspace(db):
    ws = make_workspace()
    other = make_workspace("other-place", "Other Place")
    saved = custom_intents.save_custom_intent(ws.id, name="  Card Arrival! ",
                                              examples="I am still waiting on my card\n\nwhere is my card\n"
                                                       "where is my card\nhas my card shipped")
    assert saved["name"] == "card_arrival"
    assert saved["examples"] == ["I am still waiting on my card", "where is my card", "has my card shipped"]
    with pytest.raises(ServiceError) as caught:
        custom_intents.save_custom_intent(ws.id, name="card-arrival", examples=CARD_ARRIVAL)
    assert caught.value.field == "name" and "already" in caught.value.message
    # the same name in another workspace is fine; an update keeping its own name is fine
    custom_intents.save_custom_intent(other.id, name="card_arrival", examples=CARD_ARRIVAL)
    updated = custom_intents.save_custom_intent(ws.id, name="card_arrival", examples=CARD_ARRIVAL,
                                                intent_id=saved["id"], description="When the card comes")
    assert updated["id"] == saved["id"] and updated["examples"] == CARD_ARRIVAL
    lost = custom_intents.save_custom_intent(ws.id, name="lost_card", examples=LOST_CARD)
    with pytest.raises(ServiceError) as caught:  # renaming onto another intent's name
        custom_intents.save_custom_intent(ws.id, name="Card arrival", examples=LOST_CARD, intent_id=lost["id"])
    assert caught.value.field == "name"


def test_classifier_cache_follows_saves_and_deletes(db):
    ws = make_workspace("blue-diner", "Blue Diner")
    message = "Do you do private parties for 30 people?"
    first = classifier_for_workspace(ws.id)
    assert classifier_for_workspace(ws.id) is first, "the trained classifier is cached"
    assert first.classify(message).name != "private_event"

    saved = custom_intents.save_custom_intent(ws.id, name="private_event", examples=PRIVATE_EVENT)
    second = classifier_for_workspace(ws.id)
    assert second is not first
    assert second.classify(message).name == "private_event"
    assert classifier_for_workspace(ws.id) is second

    custom_intents.save_custom_intent(ws.id, name="private_event", intent_id=saved["id"],
                                      examples=PRIVATE_EVENT + ["Can I book the terrace for a hen party?"])
    third = classifier_for_workspace(ws.id)
    assert third is not second and third.example_count == second.example_count + 1

    custom_intents.delete_custom_intent(ws.id, saved["id"])
    after = classifier_for_workspace(ws.id)
    assert "private_event" not in after.names
    assert after.classify(message).name != "private_event"
    assert fingerprint(workspace_intents(ws.id)) == fingerprint([])
    assert cached_classifier_count() >= 1
    with pytest.raises(NotFound):
        custom_intents.delete_custom_intent(ws.id, saved["id"])


def test_import_is_all_or_nothing(db):
    ws = make_workspace()
    custom_intents.save_custom_intent(ws.id, name="lost_card", examples=LOST_CARD)
    good = {"name": "card_arrival", "examples": CARD_ARRIVAL, "description": "New card not here yet"}
    bad = {"name": "greeting", "examples": ["a", "b", "c"]}
    too_few = {"name": "exchange_rate", "examples": ["what rate do you use?"]}
    with pytest.raises(ServiceError) as caught:
        custom_intents.import_intents(ws.id, [good, bad, too_few])
    assert caught.value.field == "intents"
    assert "greeting" in caught.value.message and "exchange_rate" in caught.value.message
    with pytest.raises(ServiceError):
        custom_intents.import_intents(ws.id, [good, dict(good)], replace=True)  # the same name twice
    assert [i["name"] for i in custom_intents.list_custom_intents(ws.id)] == ["lost_card"]

    counts = custom_intents.import_intents(ws.id, [good, {"name": "lost_card", "examples": LOST_CARD + ["card gone"]}])
    assert counts == {"created": 1, "updated": 1, "deleted": 0}
    exported = custom_intents.export_intents(ws.id)
    assert exported == [
        {"name": "card_arrival", "description": "New card not here yet", "examples": CARD_ARRIVAL},
        {"name": "lost_card", "description": "", "examples": LOST_CARD + ["card gone"]},
    ]
    assert classifier_for_workspace(ws.id).classify("my card hasn't been delivered yet").name == "card_arrival"

    counts = custom_intents.import_intents(ws.id, [good], replace=True)
    assert counts == {"created": 0, "updated": 1, "deleted": 1}
    assert custom_intents.export_intents(ws.id) == exported[:1]

    other = make_workspace("other-place", "Other Place")
    custom_intents.import_intents(other.id, exported)
    assert custom_intents.export_intents(other.id) == exported
    assert custom_intents.export_intents(ws.id) == exported[:1]


def test_start_up_warms_the_classifier_workspaces_without_intents_share(db):
    from backend.ai import classifiers
    from backend.providers.background import run_inline

    classifiers.clear_classifier_cache()
    run_inline("ai_warm_up")
    assert classifiers.cached_classifier_count() == 1
    plain = make_workspace("plain-bakery", "Plain Bakery")
    assert classifiers.classifier_for_workspace(plain.id) is classifiers.builtin_classifier()
    assert classifiers.cached_classifier_count() == 1
