"""Bus functional models: the only code that touches DUT signals."""
