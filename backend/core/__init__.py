"""What every domain shares, with one home below all of them: membership checks, the live events published
after a commit, cleaning names and e-mail addresses, ISO timestamps. Nothing here knows a domain above it."""
