"""A deterministic synthetic Zhuzhou on the real division tree (``fangkong city generate``)."""
