"""``import gopolicy.env`` registers the gymnasium environment ``gopolicy/Go-v0``; it lives in
:mod:`gopolicy.rl.env` (this name is kept because users import it)."""
from gopolicy.rl.env import ENV_ID, GoEnv  # noqa: F401  (importing registers the environment)
