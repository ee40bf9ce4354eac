"""Forwarding to the other workers of this app, for state that lives on one of them."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from streamapp.app import app

PEER_TIMEOUT_S = 2.0


async def ask_peers_for(path: str) -> dict[str, Any] | None:
    """GET ``path`` from every other worker; the first 200 answer wins (None if none)."""
    own = str(app.conf.canonical_url).rstrip("/")
    peers = {str(url).rstrip("/") for url in app.router.tables_metadata()}
    peers.discard(own)
    if not peers:
        return None
    async with httpx.AsyncClient(timeout=PEER_TIMEOUT_S) as client:
        replies = await asyncio.gather(
            *(client.get(f"{url}{path}") for url in sorted(peers)), return_exceptions=True
        )
    for reply in replies:
        if isinstance(reply, httpx.Response) and reply.status_code == 200:
            found: dict[str, Any] = reply.json()
            return found
    return None


async def ask_all_peers(path: str) -> list[dict[str, Any]]:
    """GET ``path`` from every other worker; the 200 answers (a peer that fails is left out)."""
    own = str(app.conf.canonical_url).rstrip("/")
    peers = {str(url).rstrip("/") for url in app.router.tables_metadata()}
    peers.discard(own)
    if not peers:
        return []
    async with httpx.AsyncClient(timeout=PEER_TIMEOUT_S) as client:
        replies = await asyncio.gather(
            *(client.get(f"{url}{path}") for url in sorted(peers)), return_exceptions=True
        )
    return [r.json() for r in replies if isinstance(r, httpx.Response) and r.status_code == 200]
