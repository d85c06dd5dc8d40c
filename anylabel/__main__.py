"""``python -m anylabel`` and the ``anylabel`` console script."""
import sys

from anylabel.cli import main

if __name__ == "__main__":
    sys.exit(main())
