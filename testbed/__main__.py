"""`python -m testbed ...`: the same CLI as the `testbed` script, for environments without it on PATH."""

from testbed.cli.main import run

if __name__ == "__main__":
    run()
