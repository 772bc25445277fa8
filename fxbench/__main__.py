import sys

from fxbench.cli import main

sys.exit(main())
