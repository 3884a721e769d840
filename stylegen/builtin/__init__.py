"""Built-in plugins, written exactly as a third-party plugin would write them."""
