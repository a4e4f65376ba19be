"""A Fireworks-compatible chat-completions simulator, for tests on loopback and offline use.

``SimulatorServer`` runs it under uvicorn in a background thread; ``create_app`` gives the bare
ASGI app; ``Simulator`` is the shared state through which tests script answers and read what
the simulated API received. ``python -m fw_mcp.simulator`` runs it standalone.
"""

from .app import create_app
from .server import SimulatorServer
from .state import Simulator

__all__ = ["Simulator", "SimulatorServer", "create_app"]
