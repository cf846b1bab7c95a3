"""The DB-backed simulated broker behind the Brokerage port, with its market feed and demo data."""

from assistant.tools.simulator.broker import Clock, ManualClock, SimulatedBrokerage, system_clock
from assistant.tools.simulator.market import MarketData
from assistant.tools.simulator.seed import DEMO_CUSTOMERS, seed_demo_data

__all__ = ["DEMO_CUSTOMERS", "Clock", "ManualClock", "MarketData", "SimulatedBrokerage", "seed_demo_data", "system_clock"]
