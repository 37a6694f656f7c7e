"""Context extraction: what a customer message tells about the fields of the conversation's context schema.

`extract_context` (rules + the packaged embeddings, no LLM, a few milliseconds) and `extract_with_llm` (one
structured tool call against the schema) return the same `ExtractedValue`s, checked by the same
`check_value`. `track` folds them into a conversation's context turn after turn."""

from backend.ai.understanding.context_extraction.extract import ExtractedValue, extract_context
from backend.ai.understanding.context_extraction.fields import TYPES, ContextField, check_value
from backend.ai.understanding.context_extraction.llm import LLMExtraction, extract_with_llm

__all__ = ["TYPES", "ContextField", "ExtractedValue", "LLMExtraction", "check_value", "extract_context",
           "extract_with_llm"]
