"""Forwarding to the other workers of this app, for state that lives on one of them.

A peer is reached at the URL it advertises (``RENDEZVOUS_ADVERTISED_URL``, Faust's
``canonical_url``), and is asked with the caller's ``Authorization`` header, so a read that
needs a token passes on the peer as it did here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
from faust.web import Request

from streamapp.app import app

PEER_TIMEOUT_S = 2.0


def forwarded_headers(request: Request) -> dict[str, str]:
    """The headers of ``request`` a peer must see too (its ``Authorization``)."""
    authorization = request.headers.get("Authorization")
    return {"Authorization": authorization} if authorization else {}


def peer_urls() -> list[str]:
    """The advertised URLs of the other workers that hold partitions."""
    own = str(app.conf.canonical_url).rstrip("/")
    peers = {str(url).rstrip("/") for url in app.router.tables_metadata()}
    peers.discard(own)
    return sorted(peers)


async def _ask(path: str, headers: Mapping[str, str] | None) -> list[httpx.Response]:
    """GET ``path`` from every peer at once; the replies (failures left out)."""
    peers = peer_urls()
    if not peers:
        return []
    async with httpx.AsyncClient(timeout=PEER_TIMEOUT_S, headers=headers) as client:
        replies = await asyncio.gather(
            *(client.get(f"{url}{path}") for url in peers), return_exceptions=True
        )
    return [reply for reply in replies if isinstance(reply, httpx.Response)]


async def ask_peers_for(
    path: str, *, headers: Mapping[str, str] | None = None
) -> dict[str, Any] | None:
    """GET ``path`` from every other worker; the first 200 answer wins (None if none)."""
    for reply in await _ask(path, headers):
        if reply.status_code == 200:
            found: dict[str, Any] = reply.json()
            return found
    return None


async def ask_all_peers(
    path: str, *, headers: Mapping[str, str] | None = None
) -> list[dict[str, Any]]:
    """GET ``path`` from every other worker; the 200 answers (a peer that fails is left out)."""
    return [reply.json() for reply in await _ask(path, headers) if reply.status_code == 200]
