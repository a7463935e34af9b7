"""The built-in PBX simulator: a TCP server speaking Asterisk's AMI, faithful to the recordings.

Public API::

    from dialer.sim import Simulator, start_server, load_scenario, ManualClock
    sim = Simulator(load_scenario("my.toml"), speed=10)
    server = await start_server(sim, "127.0.0.1", 0)   # server.port
    server.drop_connections(); server.freeze(5); await server.restart()
    sim.stats.abandoned; sim.truth["call-101"].dropped
    await server.close()
"""

from dialer.clock import Clock, ManualClock
from dialer.sim.pbx import PBX, CallTruth, Stats
from dialer.sim.scenario import Scenario, capture_scenario, load_scenario, scenario_from_dict
from dialer.sim.server import BANNER, AmiServer, Simulator, start_server

__all__ = [
    "BANNER",
    "PBX",
    "AmiServer",
    "CallTruth",
    "Clock",
    "ManualClock",
    "Scenario",
    "Simulator",
    "Stats",
    "capture_scenario",
    "load_scenario",
    "scenario_from_dict",
    "start_server",
]
