"""Reinforcement learning: the gymnasium environment (env), REINFORCE self-play (reinforce) and duels between
networks (duel)."""
