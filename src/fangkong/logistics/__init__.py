"""Supplies for households under control (物资保障) and the volunteers who deliver them."""
