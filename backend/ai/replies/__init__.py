"""Writing the reply: the built-in composer (extractive, from the documents), the LLM composer, how the assistant
speaks (persona: voices, roles, the owner's instructions) and the policy that sends, drafts or hands off."""
