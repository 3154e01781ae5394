"""Constants shared across the PowerStats integration."""

from typing import Final

DOMAIN: Final = "powerstats"
