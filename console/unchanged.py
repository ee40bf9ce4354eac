"""Pure: leave out of a callback's reply what the page already shows.

A live page refreshes every couple of seconds, and the browser redraws every output it is sent
(a Plotly figure replots, a component tree is mounted again) even when it is the same as before.
Each page keeps the digests of what it shows in a ``dcc.Store``; ``changed_only`` turns every
value whose digest is the same into ``no_update``, so only what changed is sent and redrawn.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from dash import no_update
from plotly.io.json import to_json_plotly

Digests = dict[str, str]


def digest(value: Any) -> str:
    """A short fingerprint of a value as Dash would send it (figures and components too)."""
    return hashlib.blake2b(to_json_plotly(value).encode(), digest_size=12).hexdigest()


def changed_only(
    values: Mapping[str, Any], shown: Mapping[str, str] | None
) -> tuple[dict[str, Any], Any]:
    """The values with ``no_update`` where the page shows the same already, and the digests of
    what the page shows once they are applied (``no_update`` when those did not change)."""
    before = dict(shown or {})
    after = dict(before)
    sent: dict[str, Any] = {}
    for key, value in values.items():
        if value is no_update:
            sent[key] = value
            continue
        fingerprint = digest(value)
        sent[key] = no_update if before.get(key) == fingerprint else value
        after[key] = fingerprint
    return sent, (no_update if after == before else after)
