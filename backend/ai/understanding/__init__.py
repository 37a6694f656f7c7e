"""Understanding a customer's message, pure functions of text (and an embedder): the intent (built-in and the
owner's own, few-shot on embeddings), and entities with their character spans: dates and times resolved in the
business's time zone, counts and party sizes, people's names, e-mails, phone numbers, money."""
