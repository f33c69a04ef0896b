"""Contact tracing: place scans, and finding who shared a place with a case."""
