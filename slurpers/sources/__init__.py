"""The standard sources, one module each; ``slurpers.registry`` lists them."""
