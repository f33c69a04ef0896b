"""Command centre (指挥部): daily figures, bulletin, dashboard and the 四应四尽 lists."""
