"""Request bodies: one pydantic model per form a route takes, with Twilio's PascalCase parameter names as
aliases, so FastAPI parses and validates them and Parley's OpenAPI documents every form parameter."""
