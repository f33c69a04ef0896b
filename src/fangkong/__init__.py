"""fangkong (防控): a command platform for a city's epidemic response."""

__version__ = "0.1.0"
