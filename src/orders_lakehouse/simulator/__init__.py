"""The orders application simulator: order lifecycles with Brazilian data, bad / late / duplicate events.

``Simulator`` (engine) yields contract-shaped messages on a simulated clock and keeps a
``GroundTruth``; ``runner.run`` paces them into a producer; ``cli`` is ``orders-lakehouse simulate``.
"""

from orders_lakehouse.simulator.engine import GroundTruth, Message, Simulator, SimulatorConfig

__all__ = ["GroundTruth", "Message", "Simulator", "SimulatorConfig"]
