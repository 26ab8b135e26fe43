"""The doors to the engine that speak a protocol: the language server (and the HTTP endpoint)."""
