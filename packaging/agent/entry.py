"""The one-file executable's entry point (PyInstaller runs this as __main__)."""

import sys

from agent.cli import main

if __name__ == "__main__":
    sys.exit(main())
