"""Outbound dialer and campaign engine: the daemon, the AMI link, pacing and the PBX simulator."""

__version__ = "0.1.0"
