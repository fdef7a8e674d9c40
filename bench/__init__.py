"""Benchmarks: startup against the peers (startup.py) and the peers' own virtualenv (peers.py)."""
