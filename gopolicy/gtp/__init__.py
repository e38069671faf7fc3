"""The GTP engine: the protocol (framing, command loop, streaming), its command sets and the
one place that wires them together (:class:`GtpEngine`; ``GtpEngine().serve()`` is a
rules-only engine)."""
from gopolicy.gtp.engine import GtpEngine
from gopolicy.gtp.protocol import GtpError

__all__ = ["GtpEngine", "GtpError"]
