"""Drills (演练): the digital twin driving the real platform on simulated time."""
