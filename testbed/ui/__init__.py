"""Driving the shop's web front end in a real browser for the `ui` suite.

`binaries` finds Chromium and chromedriver (never downloading them); `driver` is the one
module that imports selenium and offers suites a small browser facade, so no test or
fixture imports selenium itself.
"""
