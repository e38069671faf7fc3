#!/usr/bin/env python3
"""The GTP engine: ``python gtp_engine.py [options]`` is ``gopolicy gtp [options]``.

Works from any working directory (GUIs such as Sabaki start engines anywhere) and from
a checkout that is not installed.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gopolicy.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["gtp", *sys.argv[1:]]))
