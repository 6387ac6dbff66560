"""ImportExampleGen executor that copies prepared, already shuffled shards instead of reshuffling them."""
