"""The wire contract: one public pydantic model per resource, exactly the fields Twilio's JSON has (plus the
documented Parley extensions), used as each route's `response_model` so the OpenAPI documents them."""
