"""Torch model code behind the built-in model plugins (imported only when a model is built)."""
