"""Agent-based SARS-CoV-2 model of the digital twin: population arrays in, daily ground truth out.

The model never touches the database; drills feed its output (infections, venue visits, viral
loads) to the platform through the platform's own actions and compare what the platform found
with the truth kept here.
"""
