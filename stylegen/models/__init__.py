"""Torch model code behind the built-in model plugins (imported only when a model is built),
and the size limits every model is checked against."""

from __future__ import annotations

from stylegen.errors import StylegenError

#: The largest model stylegen builds: 2**29 float32 parameters are 2 GiB, the most a style
#: archive's weights may be. A style.json asking for more (hidden=15000, layers=10**6) is
#: refused from its config alone, before anything is allocated.
MAX_PARAMS = 1 << 29
#: The deepest stack of layers (building 20,000 of them took a minute before any check).
MAX_LAYERS = 256


def check_size(owner: str, hidden: int, layers: int, embed: int, params: int) -> None:
    """A one-line error, naming `owner` (e.g. `model 'lstm'`) and the field, for a config
    over `MAX_LAYERS` or `MAX_PARAMS`; `params` is the count the config implies."""
    if layers > MAX_LAYERS:
        raise StylegenError(f"{owner}: layers is {layers:,}, more than the {MAX_LAYERS} a model may have")
    if params > MAX_PARAMS:
        raise StylegenError(
            f"{owner}: hidden {hidden:,}, layers {layers:,} and embed {embed:,} make {params:,} parameters, "
            f"more than the {MAX_PARAMS:,} a model may have"
        )
