"""Personalities, roles and the owner's custom instructions: how the assistant speaks."""

from __future__ import annotations

import re

import pytest

from backend.ai.replies.composer import compose_reply
from backend.ai.replies.persona import (
    ConditionalLine,
    describe_instructions,
    emergency_number,
    expand_contractions,
    get_role,
    get_voice,
    parse_instructions,
    pick,
    role_caveats,
    stable_hash,
)
from backend.ai.types import ComposeRequest, IntentResult, Passage, Persona
from backend.models.enums import AIPersonality, AIRole
from backend.providers.embeddings import get_embedder

PRICES = Passage(chunk_id=1, document_id=1, document_title="Price list", page=1, heading="Prices", score=0.7,
                 text="Women's cut and blow-dry: $65. Men's cut: $35. Full colour from $95; a patch test is needed 48 "
                      "hours before your first colour appointment.")
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF]")
PERSONALITIES = [p.value for p in AIPersonality]


@pytest.fixture(scope="module")
def embedder():
    return get_embedder()


def reply(message: str, intent: str = "question", *, personality: str = "friendly", role: str = "salon",
          passages=(PRICES,), first: bool = False, instructions: str = "", embedder=None):
    persona = Persona(business_name="Glow Salon", assistant_name="Mia", role=role, personality=personality,
                      custom_instructions=instructions, timezone="Europe/London")
    request = ComposeRequest(message=message, persona=persona, intent=IntentResult(intent, 0.9),
                             passages=tuple(passages), first_reply=first)
    return compose_reply(request, embedder=embedder)


# --- personalities ------------------------------------------------------------------------------------------------


def test_every_personality_and_role_is_defined():
    assert {get_voice(p).key for p in AIPersonality} == set(PERSONALITIES)
    assert {get_role(r).key for r in AIRole} == {r.value for r in AIRole}
    assert get_voice("nonsense").key == "professional" and get_role("nonsense").key == "general"


def test_each_personality_reads_differently(embedder):
    answers = {p: reply("How much is a men's cut?", personality=p, embedder=embedder) for p in PERSONALITIES}
    assert all(r.answered and "Men's cut: $35." in r.text for r in answers.values())
    assert len({r.text for r in answers.values()}) == len(PERSONALITIES)
    fallbacks = {p: reply("Do you do nail extensions?", personality=p, passages=(), embedder=embedder).text
                 for p in PERSONALITIES}
    assert len(set(fallbacks.values())) == len(PERSONALITIES)
    greetings = {p: reply("hi", "greeting", personality=p, first=True).text for p in PERSONALITIES}
    assert len(set(greetings.values())) == len(PERSONALITIES)

    # concise is the shortest, with no small talk around the answer
    assert answers["concise"].text == "Men's cut: $35."
    for kind in (answers, fallbacks, greetings):
        lengths = {p: len(r if isinstance(r, str) else r.text) for p, r in kind.items()}
        assert lengths["concise"] == min(lengths.values())


def test_professional_does_not_contract_and_signs_with_the_name(embedder):
    fallback = reply("Do you do nail extensions?", personality="professional", passages=(), embedder=embedder).text
    assert "I will check with the salon team" in fallback and "I'll" not in fallback
    assert fallback.endswith("\n— Mia")
    friendly = reply("Do you do nail extensions?", personality="friendly", passages=(), embedder=embedder).text
    assert "I'll" in friendly and "— Mia" not in friendly
    # the name is never said twice: a greeting that introduces "Mia" is not signed
    greeting = reply("hello", "greeting", personality="professional", first=True).text
    assert greeting.count("Mia") == 1 and "— Mia" not in greeting


def test_emoji_only_for_enthusiastic_and_casual_and_at_most_one(embedder):
    for personality in PERSONALITIES:
        texts = [reply("How much is a men's cut?", personality=personality, embedder=embedder).text,
                 reply("hi", "greeting", personality=personality, first=True).text,
                 reply("thanks!", "thanks", personality=personality).text,
                 reply("This is a disgrace", "complaint", personality=personality).text]
        counts = [len(EMOJI.findall(t)) for t in texts]
        assert max(counts) <= 1, (personality, texts)
        if personality in ("professional", "friendly", "empathetic", "concise"):
            assert sum(counts) == 0, personality
        else:
            assert sum(counts) >= 1, personality
        assert counts[3] == 0  # never an emoji on a complaint
    no_emoji = reply("hi", "greeting", personality="enthusiastic", first=True, instructions="No emojis please.")
    assert not EMOJI.search(no_emoji.text)


def test_contractions_expand_with_their_capitals():
    assert expand_contractions("I'll check. We're open. Don't worry, it's fine. I’m here.") == \
        "I will check. We are open. Do not worry, it is fine. I am here."


def test_variants_are_chosen_by_a_stable_hash():
    options = ("a", "b", "c", "d")
    assert pick(options, "how much is a cut?", "opener") == pick(options, "how much is a cut?", "opener")
    assert len({pick(options, f"message {i}") for i in range(40)}) > 1
    assert stable_hash("x", 1) == stable_hash("x", 1) != stable_hash("x", 2)


# --- roles ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "customers"), [
    ("medical", "patients"), ("legal", "clients"), ("banker", "clients"), ("real_estate", "clients"),
    ("restaurant", "guests"), ("hospitality", "guests"), ("fitness", "members"), ("education", "students"),
    ("general", "customers"),
])
def test_role_vocabulary(role, customers):
    assert get_role(role).customers == customers


def test_role_booking_words_reach_the_replies():
    assert "book a table" in reply("I'd like to book", "book", role="restaurant").text
    assert "consultation" in reply("I'd like to book", "book", role="legal").text
    assert "viewing" in reply("I'd like to book", "book", role="real_estate").text


def test_role_caveats_where_a_business_needs_them():
    assert role_caveats("medical", "How much is a cleaning?") == []
    [advice] = role_caveats("medical", "My tooth hurts, should I take ibuprofen?", timezone="America/Chicago")
    assert "can't give medical advice or a diagnosis" in advice
    urgent = role_caveats("medical", "I have chest pain and can't breathe", timezone="America/Chicago")
    assert urgent[0] == "If this is an emergency or your symptoms are severe, please call 911 right away."
    assert "112" in role_caveats("medical", "I fainted", timezone="Europe/Berlin")[0]
    assert "not legal advice" in role_caveats("legal", "Should I sue my employer?")[0]
    assert role_caveats("legal", "Where is your office?") == []
    assert "never share your full card number, PIN" in role_caveats("banker", "my card number is 4111111111111111")[0]
    assert "block it" in role_caveats("banker", "My card was stolen!")[0]
    assert "tell our staff" in role_caveats("restaurant", "Is the pesto nut free?")[0]
    assert role_caveats("general", "My tooth hurts") == []


def test_emergency_number_follows_the_timezone():
    assert emergency_number("America/New_York") == "911"
    assert emergency_number("Europe/Paris") == "112"
    assert emergency_number("Europe/London").startswith("999")
    assert emergency_number("Australia/Sydney") == "000"
    assert emergency_number("Asia/Tokyo") == "your local emergency number"


def test_legal_reply_carries_the_caveat_only_when_advice_is_sought(embedder):
    law = Passage(chunk_id=3, document_id=3, document_title="Consultations", score=0.7,
                  text="Your first consultation lasts 30 minutes and costs $150.")
    sought = reply("How much is a consultation? Should I sue my landlord?", role="legal", passages=(law,),
                   embedder=embedder)
    assert "$150" in sought.text and "not legal advice" in sought.text
    plain = reply("How much is a consultation?", role="legal", passages=(law,), embedder=embedder)
    assert "$150" in plain.text and "legal advice" not in plain.text


# --- custom instructions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "Always greet with 'Welcome to Bright Smile!'",
    'Greet customers with "Welcome to Bright Smile!"',
    "Start every conversation with: Welcome to Bright Smile!",
    "Greeting: Welcome to Bright Smile!",
    "Say “Welcome to Bright Smile!” when someone first writes.",
    "- always greet people with ‘Welcome to Bright Smile!’",
])
def test_greeting_phrasings(text):
    assert parse_instructions(text).greeting == "Welcome to Bright Smile!"


@pytest.mark.parametrize("text", [
    "Sign off with 'Have a sparkling day!'",
    "End every message with \"Have a sparkling day!\"",
    "Sign-off: Have a sparkling day!",
    "Use 'Have a sparkling day!' as the closing.",
])
def test_sign_off_phrasings(text):
    assert parse_instructions(text).sign_off == "Have a sparkling day!"


@pytest.mark.parametrize(("text", "terms"), [
    ("Never mention competitors", ("competitors",)),
    ("Don't discuss prices.", ("prices",)),
    ("Do not talk about politics or religion!", ("politics", "religion")),
    ("Never use the word 'cheap'", ("cheap",)),
    ('Don\'t say "unfortunately" or "no problem".', ("unfortunately", "no problem")),
    ("Avoid mentioning our sister clinic.", ("sister clinic",)),
    ("Prices are off-limits.", ("prices",)),
    ("No talk of discounts", ("discounts",)),
    ("Please don't mention the renovation to customers.", ("renovation",)),
    ("Never give a diagnosis or medical advice in the chat: offer a visit instead.", ("diagnosis", "medical advice")),
])
def test_never_mention_phrasings(text, terms):
    rules = parse_instructions(text)
    assert rules.never_mention == terms
    assert rules.llm_only == ()


def test_forbidden_topics_cover_their_words():
    rules = parse_instructions("Don't discuss prices. Never mention competitors.")
    assert rules.forbidden_in("A cut costs $35.")
    assert rules.forbidden_in("The fee is waived.")
    assert rules.forbidden_in("Unlike our competitor, we open early.")
    assert rules.forbidden_in("We open at 9.") is None
    assert parse_instructions("Never use the word 'cheap'").forbidden_in("Cheapest in town") is None  # whole words


@pytest.mark.parametrize(("text", "line"), [
    ("Always remind people to bring their insurance card", "Please remember to bring your insurance card."),
    ("Remind patients that we need 24 hours notice to cancel.", "Just a reminder: we need 24 hours notice to cancel."),
    ("Always mention that parking is free behind the building.", "Parking is free behind the building."),
    ("Always add 'Walk-ins welcome!' at the end.", "Walk-ins welcome!"),
    ("Always ask them to arrive 10 minutes early.", "Please arrive 10 minutes early."),
    ("End every reply with a reminder to book early.", "Please remember to book early."),
    ("Tell everyone that we are closed on public holidays.", "We are closed on public holidays."),
])
def test_always_add_phrasings(text, line):
    assert parse_instructions(text).always_add == (line,)


def test_conditional_lines():
    rules = parse_instructions("For tooth pain with swelling or fever, tell them to call us at (555) 010-2030 right "
                               "away. If someone asks about parking, tell them there is free parking behind the "
                               "building.")
    assert rules.conditional == (
        ConditionalLine(("tooth pain", "swelling", "fever"), "Please call us at (555) 010-2030 right away."),
        ConditionalLine(("parking",), "There is free parking behind the building."),
    )
    call, parking = rules.conditional
    assert call.applies("my tooth hurts") and call.applies("My face is swollen") and call.applies("I have a fever")
    assert not call.applies("How much is whitening?")
    assert parking.applies("Where do I park?") and not parking.applies("Where are you?")


def test_unknown_instructions_are_kept_for_the_llm_and_described():
    text = ("Greet patients warmly. Always answer in French. Never mention competitors. "
            "Always greet with 'Welcome to Bright Smile!'. Keep answers short. No emojis.")
    rules = parse_instructions(text)
    assert rules.llm_only == ("Greet patients warmly.", "Always answer in French.")
    assert rules.brief and rules.emoji is False
    summary = describe_instructions(rules)
    assert summary.startswith("Understood: greeting “Welcome to Bright Smile!”; never mention: competitors; ")
    assert "short replies" in summary and "no emojis" in summary
    assert "“Greet patients warmly.” “Always answer in French.”" in summary
    assert describe_instructions("") == "No custom instructions."
    assert describe_instructions("Be nice.").startswith("The built-in assistant cannot apply these on its own")


def test_brief_instruction_shortens_replies(embedder):
    normal = reply("How much is a men's cut?", embedder=embedder)
    brief = reply("How much is a men's cut?", instructions="Keep answers short.", embedder=embedder)
    assert "Men's cut: $35." in brief.text and len(brief.text) < len(normal.text)
