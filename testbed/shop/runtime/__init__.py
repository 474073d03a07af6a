"""What every shop service shares: serving, calling, auth, storage, events, logging and metrics."""
