"""Choosing moves with a policy network: the candidate rule every caller shares, the GTP engine's player and
batched self-play."""
