"""`python -m roadseg_gui [WORKSPACE]` starts the desktop app."""

import sys

from roadseg_gui.app import main

sys.exit(main())
