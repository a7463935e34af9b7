"""The Asterisk Manager Interface: a pure codec, typed events, and the asyncio client."""
