"""The engine's states and the keys it keeps in ``engine_state`` across restarts."""

STOPPED, RUNNING, PAUSED, HALTED = "STOPPED", "RUNNING", "PAUSED", "HALTED"
HALT_KEY = "halted"  # engine_state: set by the kill switch, cleared by a re-arm
KILL_REQUEST_KEY = "kill_request"  # engine_state: written by `python -m engine kill` for a running engine
REARM_REQUEST_KEY = "rearm_request"
