"""The network: a graph of layer nodes (``graph``) and its loss math (``network``)."""

from .graph import Graph, Node
from .network import Network

__all__ = ["Graph", "Network", "Node"]
