"""The digital twin: a synthetic city (``sim.city``) and, later, epidemics and drills on it."""
