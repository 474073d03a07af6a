"""One module per shop service; each exposes `run(settings) -> int`."""
