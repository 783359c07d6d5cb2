"""carebot: a Telegram customer-care bot. This package assembles and runs it."""

import os

# Opt in to PTB's future behaviour (durations as timedelta) so no deprecation warning fires.
os.environ.setdefault("PTB_TIMEDELTA", "1")
