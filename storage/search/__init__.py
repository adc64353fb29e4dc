"""History search: messages found by their words' blind indexes (never by their text, which is sealed)."""
