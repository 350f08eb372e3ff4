"""The walking network: loading, snapping to edges, and network distances."""

from .graph import ComponentReport, Reach, WalkNetwork, load_network

__all__ = ["ComponentReport", "Reach", "WalkNetwork", "load_network"]
