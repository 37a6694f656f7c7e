"""Conversations with a goal the assistant carries over several messages: booking, moving and cancelling an
appointment (the slot-filling dialog without an LLM, and the same actions as LLM tool calls)."""
