"""Shared handling of a real language server process in tests."""

from __future__ import annotations

import asyncio
import contextlib

from pytest_lsp import LanguageClient


async def stop(client: LanguageClient) -> None:
    """End the server even when the test failed half-way (pygls's stop() only waits for it)."""
    server = client._server
    if server is not None and server.returncode is None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.shutdown_session(), 10)
        if server.returncode is None:
            server.terminate()
    await client.stop()
