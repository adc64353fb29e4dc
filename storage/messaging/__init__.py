"""Messaging Services (`/messaging/v1/Services`): sender pools with a sticky sender per customer."""
