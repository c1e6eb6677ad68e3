"""Unit conversions, each defined once: SI inside, converted only at the edges.

A year is 365 days (8,760 h), as the amortisation of purchase price and embodied carbon over
a service life and the year of serving both count it.
"""

from __future__ import annotations

SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24  # an int: it also counts the hourly slots of a daily profile
SECONDS_PER_DAY = SECONDS_PER_HOUR * HOURS_PER_DAY
DAYS_PER_YEAR = 365.0
HOURS_PER_YEAR = DAYS_PER_YEAR * HOURS_PER_DAY  # 8760
W_PER_KW = 1000.0
G_PER_KG = 1000.0
KWH_TO_J = W_PER_KW * SECONDS_PER_HOUR  # 3.6e6 J in one kWh
