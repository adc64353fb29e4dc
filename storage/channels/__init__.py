"""Channels: provider connections, their senders, inbound messages from providers and delivery to them."""
