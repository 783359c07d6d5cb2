"""`python -m bot` runs the carebot command line."""

from bot.cli import main

raise SystemExit(main())
