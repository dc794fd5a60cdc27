"""pyuvm environment: agents, monitors, scoreboard, coverage, message trace."""
