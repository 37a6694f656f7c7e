"""The AI engine: every customer message goes through one pipeline, in background work.

    voice → transcript (providers.speech) → intent (ai.intents) → entities (ai.entities)
          → knowledge retrieval (kb.search) → reply (ai.composer: embedded, or ai.llm_composer over providers.llm)
          → policy (ai.policy: send / draft / hand off) → events

`ai.pipeline` runs it over a stored message and records an AIRun; `ai.drafts` is the owner's approve / edit /
reject; `ai.simulate` runs it over a workspace described as data (the `simulate` CLI). The shared value types
live in `ai.types` so that each step can be used, tested and benchmarked alone.
"""
