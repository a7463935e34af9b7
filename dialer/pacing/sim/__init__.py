"""Discrete-event simulation of a dialling day, for the pacing benchmark (virtual time)."""
