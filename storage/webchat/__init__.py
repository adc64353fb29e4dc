"""Web chat: an address's web chat settings, whether it can answer now, and starting a chat (the public
POST /flex-api/v2/WebChats)."""
