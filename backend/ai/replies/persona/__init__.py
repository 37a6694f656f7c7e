"""How the assistant speaks: the six personalities (voice), the twelve roles (vocabulary, caveats), and the owner's
free-text custom instructions turned into what a composer without a language model can honour.

    voice = get_voice("friendly")            # openers, closers, templates, emoji, contractions, length
    role = get_role("medical")               # "patients", "appointment", caveats ("no diagnosis here")
    rules = parse_instructions("Always greet with 'Welcome to Bright Smile!'. Never mention competitors.")
    rules.greeting, rules.never_mention      # "Welcome to Bright Smile!", ("competitors",)
    describe_instructions(rules)             # "Understood: greeting “Welcome to Bright Smile!”; never mention: …"

Templates are written with contractions and placeholders ({name}, {business}, {team}, {help}, {booking},
{a_booking}, {emoji}); `Voice.say()` fills them and, for a personality that does not contract ("professional"),
expands "I'll" to "I will". Only template words are ever rewritten: text quoted from the documents or written by
the owner is used as is. `{emoji}` marks where the one emoji a reply may carry can go; the composer keeps the first
and drops the others, so even an enthusiastic reply has at most one.

Everything here is deterministic: a choice between variants is made by a stable hash of the message
(`pick`), never at random, so the same message always gets the same words.
"""

from backend.ai.replies.persona.instructions import (
    ConditionalLine,
    Instructions,
    content_words,
    describe_instructions,
    parse_instructions,
    stem,
)
from backend.ai.replies.persona.roles import (
    Caveat,
    Role,
    emergency_number,
    get_role,
    role_caveats,
)
from backend.ai.replies.persona.voices import Voice, get_voice
from backend.ai.replies.persona.wording import expand_contractions, pick, stable_hash

__all__ = [
    "Caveat", "ConditionalLine", "Instructions", "Role", "Voice", "content_words", "describe_instructions",
    "emergency_number", "expand_contractions", "get_role", "get_voice", "parse_instructions", "pick", "role_caveats",
    "stable_hash", "stem",
]
