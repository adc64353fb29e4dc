"""Stand-in messaging providers: Twilio Programmable Messaging, Meta's WhatsApp Cloud API and Facebook Messenger,
speaking their real wire protocols (docs/channel-protocols.md) on loopback, because the real providers cannot be
reached from a development machine or CI.

They are written from the providers' documentation, not from Parley's adapters (`channels/twilio.py` and the
others import nothing from here and this package imports nothing of theirs), so a test that passes against them
checks the adapters against the protocol, not against themselves. Beside the provider APIs they serve a control
API for tests and the demo (`/_standin/...`: register numbers, be a customer who sends and reads, inject outages
and throttling) and a customer phone page (`/phone/`).

Run with `python -m channels.standin --port 8095 [--config numbers.json]`; `make dev` starts it.
"""
