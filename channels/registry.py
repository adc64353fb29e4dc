"""Channel adapters, found through the `parley.channels` entry point group: Parley's own are declared in its
pyproject.toml, a third party's in its own package, with the same shape:

    [project.entry-points."parley.channels"]
    acme_sms = "acme_parley.adapter:AcmeSms"

The entry point's name is the provider connection's `kind`; the object it names is a ChannelAdapter subclass."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from channels.base import ChannelAdapter

ENTRY_POINT_GROUP = "parley.channels"


class UnknownProvider(LookupError):
    pass


@cache
def adapters() -> dict[str, ChannelAdapter]:
    found: dict[str, ChannelAdapter] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        cls = point.load()
        if not (isinstance(cls, type) and issubclass(cls, ChannelAdapter)):
            raise TypeError(f"entry point {point.name} = {point.value} is not a ChannelAdapter subclass")
        found[point.name] = cls()
    return found


def adapter(kind: str) -> ChannelAdapter:
    try:
        return adapters()[kind]
    except KeyError:
        raise UnknownProvider(f"no channel adapter named {kind!r} (known: {', '.join(sorted(adapters()))})") from None
