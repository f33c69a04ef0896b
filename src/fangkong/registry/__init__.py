"""Who lives where: the area tree, grids, buildings, households and persons."""
