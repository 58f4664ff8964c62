"""The command channel: typed commands (`commands.py`) and the one dispatcher every UI sends them to.

The magics, the `mlintern` comm (the side panel), the inline cards and a kernel-less host (the `mlintern`
console script) all build the same pydantic commands and hand them to a `Dispatcher`; the dispatcher changes
state only through the session's typed methods, each of which records its event first. Nothing here imports
IPython, ipywidgets or comm: the notebook is one host among others (`jupyter/controller.py`).
"""

from .commands import PROTOCOL_VERSION, Command, CommandError, Reply, parse_command, parse_message
from .dispatcher import Dispatcher, Host

__all__ = ["PROTOCOL_VERSION", "Command", "CommandError", "Dispatcher", "Host", "Reply", "parse_command",
           "parse_message"]
