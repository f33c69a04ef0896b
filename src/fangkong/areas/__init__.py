"""Risk areas: designation of high/medium/low areas, daily evaluation and lifting."""
