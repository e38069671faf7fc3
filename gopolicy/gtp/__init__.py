"""The GTP engine: the protocol (framing, command loop, streaming), its command sets and the wiring."""
from gopolicy.gtp.protocol import GtpEngine, GtpError

__all__ = ["GtpEngine", "GtpError"]
