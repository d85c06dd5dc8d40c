#!/usr/bin/env python3
"""Start the anylabel GUI from a checkout: ``python app.py [PATH]`` (the same as ``anylabel [PATH]``)."""
import sys

from anylabel.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
