"""The six personalities: openers, closers, templates, emoji and length (`get_voice`).

Templates are written with contractions and placeholders ({name}, {business}, {team}, {help}, {booking},
{a_booking}, {emoji}); `Voice.say()` fills them and, for a personality that does not contract ("professional"),
expands "I'll" to "I will". `{emoji}` marks where the one emoji a reply may carry can go."""

from __future__ import annotations

from dataclasses import dataclass

from backend.ai.replies.persona.wording import expand_contractions
from backend.models.enums import AIPersonality


@dataclass(frozen=True)
class Voice:
    """How one personality speaks. Every template may use {name} {business} {team} {help} {booking} {a_booking}
    {customers} and {emoji}."""

    key: str
    style: str  # in words, for the LLM's system prompt
    contractions: bool
    emoji: str  # the emoji this voice may use ("" = none)
    emoji_kinds: frozenset[str]  # reply kinds where it may appear
    max_sentences: int  # sentences quoted from the documents in one answer
    max_chars: int  # the whole reply
    openers: tuple[str, ...]  # an acknowledgement before an answer ("" = none)
    closers: tuple[str, ...]  # an offer of more help after an answer ("" = none)
    hello: str  # the first words of a first greeting
    self_intro: str  # "I'm {name}, the virtual assistant at {business}."
    self_intro_short: str  # the same when the greeting already names the business
    offer: str  # "I can {help}."
    ask: str  # "How can I help you today?"
    first_line: str  # greets the customer before a first answer ("" = straight to the point)
    regreet: tuple[str, ...]
    thanks: tuple[str, ...]
    goodbye: tuple[str, ...]
    fallback: tuple[str, ...]
    handoff_human: tuple[str, ...]  # the customer asked for a person
    handoff_notice: tuple[str, ...]  # a person will answer instead of the assistant (not asked for)
    handoff_complaint: tuple[str, ...]
    book_ack: tuple[str, ...]
    reschedule_ack: tuple[str, ...]
    cancel_ack: tuple[str, ...]
    sign_with_name: bool  # ends replies with "— {name}"

    def say(self, template: str, **values: str) -> str:
        """A template filled in, in this voice (contractions expanded when the voice does not use them)."""
        text = template.format_map(_Blank(values))
        return text if self.contractions else expand_contractions(text)


class _Blank(dict):
    def __missing__(self, key: str) -> str:  # a placeholder nobody filled reads as nothing, never as "{x}"
        return "{emoji}" if key == "emoji" else ""


_ALL_KINDS = frozenset({"answer", "greeting", "thanks", "clarify", "goodbye"})

VOICES: dict[str, Voice] = {
    AIPersonality.PROFESSIONAL: Voice(
        key="professional",
        style="Professional: courteous, precise and calm. Full sentences without contractions, no slang, no emoji.",
        contractions=False, emoji="", emoji_kinds=frozenset(), max_sentences=3, max_chars=600,
        openers=("Thank you for your question.", "Certainly.", "Of course."),
        closers=("Please let me know if I can help with anything else.",
                 "Is there anything else I can help you with?"),
        hello="Hello, and thank you for contacting {business}.",
        self_intro="I'm {name}, the virtual assistant.",
        self_intro_short="I'm {name}, the virtual assistant.",
        offer="I can {help}.",
        ask="How may I help you today?",
        first_line="Thank you for contacting {business}.",
        regreet=("Hello again. How may I help you?", "Hello. How may I help you today?"),
        thanks=("You're welcome. Please let me know if there is anything else I can do for you.",
                "My pleasure. Is there anything else I can help you with?"),
        goodbye=("Thank you for contacting {business}. Have a good day.",),
        fallback=("Thank you for your question. I don't have that information at hand, so I'll check with {team} "
                  "and get back to you shortly.",
                  "I'll need to check that with {team}. I'll get back to you as soon as possible."),
        handoff_human=("Certainly. I've let {team} know, and a member of our team will reply to you here shortly.",),
        handoff_notice=("Thank you for your message. I've passed it on to {team}, and a member of our team will "
                        "reply to you here shortly.",),
        handoff_complaint=("I'm sorry to hear about your experience. I've passed your message on to {team}, and a "
                           "member of our team will get back to you personally as soon as possible.",),
        book_ack=("I'd be glad to help you book {a_booking}.",),
        reschedule_ack=("Certainly, we can find a new time for your {booking}.",),
        cancel_ack=("Certainly, I can help you cancel your {booking}.",),
        sign_with_name=True,
    ),
    AIPersonality.FRIENDLY: Voice(
        key="friendly",
        style="Friendly: warm and welcoming, plain words, contractions are fine, no emoji.",
        contractions=True, emoji="", emoji_kinds=frozenset(), max_sentences=3, max_chars=600,
        openers=("Happy to help!", "Good question!", "Sure!"),
        closers=("Anything else I can help with?", "Let me know if there's anything else!"),
        hello="Hi there!",
        self_intro="I'm {name}, the virtual assistant at {business}.",
        self_intro_short="I'm {name}, the virtual assistant.",
        offer="I can {help}.",
        ask="What can I do for you?",
        first_line="Hi there, thanks for reaching out to {business}!",
        regreet=("Hi again! What can I do for you?", "Hello again! How can I help?"),
        thanks=("You're welcome! Happy to help.", "Anytime! Let me know if there's anything else."),
        goodbye=("Thanks for reaching out, and have a lovely day!",),
        fallback=("Good question! I don't have that information right now, so I'll check with {team} and get back "
                  "to you soon.",
                  "Let me check that with {team}. I'll get back to you as soon as I can!"),
        handoff_human=("Of course! I've let {team} know, and someone from our team will reply to you here shortly.",),
        handoff_notice=("Thanks for your message! I've passed it on to {team}, and someone from our team will reply "
                        "to you here shortly.",),
        handoff_complaint=("I'm so sorry to hear that. I've passed your message on to {team}, and someone from our "
                           "team will get back to you personally as soon as possible.",),
        book_ack=("I'd be happy to help you book {a_booking}!",),
        reschedule_ack=("No problem, let's find a new time for your {booking}.",),
        cancel_ack=("No problem, I can help you cancel your {booking}.",),
        sign_with_name=False,
    ),
    AIPersonality.CASUAL: Voice(
        key="casual",
        style="Casual: relaxed and chatty like a helpful friend, short sentences, contractions; an emoji now and "
              "then (at most one) in greetings and thanks.",
        contractions=True, emoji="🙂", emoji_kinds=frozenset({"greeting", "thanks", "goodbye"}), max_sentences=3,
        max_chars=500,
        openers=("Sure thing!", "Sure!", "Good one!"),
        closers=("Anything else?", "Need anything else?"),
        hello="Hey!",
        self_intro="I'm {name} from {business}{emoji}",
        self_intro_short="I'm {name}{emoji}",
        offer="I can {help}.",
        ask="What's up?",
        first_line="Hey, thanks for messaging {business}!",
        regreet=("Hey again! What's up?", "Hi again! What can I do for you?"),
        thanks=("No problem!{emoji}", "Anytime!{emoji}"),
        goodbye=("Take care!{emoji}",),
        fallback=("Hmm, I'm not sure about that one. I'll check with {team} and get back to you.",
                  "Good question! Let me check with {team} and I'll get back to you."),
        handoff_human=("Sure! I've let {team} know, and someone from the team will reply to you here soon.",),
        handoff_notice=("Thanks! I've passed this on to {team}, and someone from the team will reply to you here "
                        "soon.",),
        handoff_complaint=("Oh no, sorry about that! I've passed this on to {team}, and someone from the team will "
                           "get back to you personally soon.",),
        book_ack=("Sure, let's get you booked in!",),
        reschedule_ack=("No worries, let's find you a new time.",),
        cancel_ack=("No worries, I can help with that.",),
        sign_with_name=False,
    ),
    AIPersonality.EMPATHETIC: Voice(
        key="empathetic",
        style="Empathetic: patient, reassuring and caring; acknowledge how the person feels before answering; "
              "gentle wording, no emoji.",
        contractions=True, emoji="", emoji_kinds=frozenset(), max_sentences=3, max_chars=600,
        openers=("Thanks for asking, I'm glad to help.", "I understand, let me help with that.",
                 "Of course, I'm happy to help."),
        closers=("If anything else is on your mind, please don't hesitate to ask.",
                 "I'm here if you have any other questions."),
        hello="Hello, and welcome to {business}.",
        self_intro="I'm {name}, the virtual assistant.",
        self_intro_short="I'm {name}, the virtual assistant.",
        offer="I can {help}.",
        ask="How can I help you today?",
        first_line="Hello, and thank you for reaching out to {business}.",
        regreet=("Hello again, how can I help you?", "It's good to hear from you again. How can I help?"),
        thanks=("You're very welcome, I'm glad I could help.", "It's my pleasure. Take care!"),
        goodbye=("Take good care, and don't hesitate to reach out again.",),
        fallback=("I understand you'd like to know, and I want to make sure you get the right answer. I'll check "
                  "with {team} and get back to you as soon as I can.",
                  "Thank you for your patience. I don't have that information at hand, so I'll check with {team} "
                  "and get back to you soon."),
        handoff_human=("Of course, I completely understand. I've let {team} know, and a member of our team will "
                       "reply to you here personally as soon as possible.",),
        handoff_notice=("Thank you for your message. I've passed it on to {team}, and a member of our team will "
                        "reply to you here personally as soon as possible.",),
        handoff_complaint=("I'm truly sorry about this, and I understand how frustrating it must be. I've passed "
                           "your message on to {team}, and a member of our team will get back to you personally as "
                           "soon as possible.",),
        book_ack=("I'd be glad to help you book {a_booking}.",),
        reschedule_ack=("Of course, that's no problem at all. Let's find a new time for your {booking}.",),
        cancel_ack=("Of course, I understand. I can help you cancel your {booking}.",),
        sign_with_name=True,
    ),
    AIPersonality.CONCISE: Voice(
        key="concise",
        style="Concise: as short as possible, straight to the answer, one or two sentences, no small talk, no "
              "emoji.",
        contractions=True, emoji="", emoji_kinds=frozenset(), max_sentences=1, max_chars=320,
        openers=("",), closers=("",),
        hello="Hi,",
        self_intro="I'm {name} from {business}.",
        self_intro_short="I'm {name}.",
        offer="",
        ask="How can I help?",
        first_line="",
        regreet=("Hi! How can I help?",),
        thanks=("You're welcome.",),
        goodbye=("Goodbye!",),
        fallback=("I'll check with {team} and get back to you.",),
        handoff_human=("Sure. Someone from our team will reply here shortly.",),
        handoff_notice=("Someone from our team will reply here shortly.",),
        handoff_complaint=("Sorry about that. Someone from our team will get back to you shortly.",),
        book_ack=("",), reschedule_ack=("",), cancel_ack=("",),
        sign_with_name=False,
    ),
    AIPersonality.ENTHUSIASTIC: Voice(
        key="enthusiastic",
        style="Enthusiastic: upbeat and energetic, exclamation marks welcome, at most one emoji per reply.",
        contractions=True, emoji="😊", emoji_kinds=_ALL_KINDS, max_sentences=3, max_chars=600,
        openers=("Great question!", "Happy to help with that!", "Oh, good question!"),
        closers=("Anything else I can help you with?{emoji}", "Just let me know if there's anything else!{emoji}"),
        hello="Hi there, and welcome to {business}!{emoji}",
        self_intro="I'm {name}, your virtual assistant.",
        self_intro_short="I'm {name}, your virtual assistant.",
        offer="I can {help}.",
        ask="What can I do for you today?",
        first_line="Hi there, welcome to {business}!",
        regreet=("Hi again!{emoji} What can I do for you?", "Welcome back! How can I help today?{emoji}"),
        thanks=("You're so welcome!{emoji}", "My pleasure, happy to help anytime!{emoji}"),
        goodbye=("Thanks so much for stopping by, have a wonderful day!{emoji}",),
        fallback=("Great question! I don't have that answer just yet, but I'll check with {team} and get right "
                  "back to you!",
                  "Ooh, let me check that one with {team}. I'll get back to you as soon as I can!"),
        handoff_human=("Absolutely! I've let {team} know, and someone from our team will reply to you here very "
                       "soon!",),
        handoff_notice=("Thanks for your message! I've passed it on to {team}, and someone from our team will reply "
                        "to you here very soon!",),
        handoff_complaint=("I'm so sorry to hear that. I've passed your message on to {team}, and someone from our "
                           "team will get back to you personally as soon as possible.",),
        book_ack=("I'd love to help you book {a_booking}!{emoji}",),
        reschedule_ack=("No problem at all, let's find a new time for your {booking}!",),
        cancel_ack=("No problem, I can help you cancel your {booking}.",),
        sign_with_name=False,
    ),
}


def get_voice(personality: str | None) -> Voice:
    """The voice of a personality; an unknown one speaks like "professional"."""
    return VOICES.get(str(personality or "").strip().lower(), VOICES[AIPersonality.PROFESSIONAL])
