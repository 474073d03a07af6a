"""Generator of the shop's part of manifests/ (see layout.py); its output is committed."""
