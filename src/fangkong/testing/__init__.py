"""Mass testing: lab-result formats, pool planning and registration codes."""
