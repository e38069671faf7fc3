"""gopolicy: Go move-prediction (policy) networks, from game records to a GTP engine."""

__version__ = "0.1.0"
