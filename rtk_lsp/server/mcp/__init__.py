"""The MCP door: tools over the engine (tools.py), served over stdio (stdio.py, `rtk-lsp mcp`)
and over streamable HTTP at `/mcp` on the HTTP door (asgi.py). Everything here imports the
`mcp` SDK, so nothing outside this package imports it at module level."""
