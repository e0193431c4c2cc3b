"""Management commands of the layer lab."""
