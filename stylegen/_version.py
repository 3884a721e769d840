"""stylegen's version, in a module of its own: the modules inside the package read it from
here, never from the facade (`stylegen/__init__.py` imports them, so importing it back from
them would close a cycle)."""

__version__ = "0.1.0"
