"""cocotb / pyuvm tests. Each module is a cocotb test module run by tb/sim/ launchers."""
