"""``python -m ocpi.cli``."""

from . import main

raise SystemExit(main())
