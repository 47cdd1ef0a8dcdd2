"""The simulated exchange: a venue that speaks ccxt's unified API on synthetic or recorded markets."""

from engine.exchanges.sim.config import SimConfig, SimConfigError, parse_sim_config
from engine.exchanges.sim.venue import SimExchange

__all__ = ["SimExchange", "SimConfig", "SimConfigError", "parse_sim_config"]
