"""pyuvm sequences and the layers that let the Python models run over the agents."""
