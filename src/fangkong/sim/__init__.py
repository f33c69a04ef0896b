"""The digital twin: synthetic city, epidemic model and drills."""
