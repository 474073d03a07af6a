"""Built-in best-practice rules; each module registers its checks in `registry`."""
