"""Small single-purpose widgets shared by the screens."""

from stylegen.tui.widgets.copycheck import CopyCheckPanel
from stylegen.tui.widgets.marked import MarkedTextArea
from stylegen.tui.widgets.nav import NavBar
from stylegen.tui.widgets.penalties import PenaltiesPanel
from stylegen.tui.widgets.plot import LossPlot
from stylegen.tui.widgets.sampler import SamplerPanel
from stylegen.tui.widgets.transcript import Transcript, TurnView

__all__ = [
    "CopyCheckPanel",
    "LossPlot",
    "MarkedTextArea",
    "NavBar",
    "PenaltiesPanel",
    "SamplerPanel",
    "Transcript",
    "TurnView",
]
