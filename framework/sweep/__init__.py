"""Parameter sweeps on the vectorized engine (grid and Optuna)."""

from framework.sweep.grid import crossover_grid, sweep_crossover, sweep_sma_cross

__all__ = ["crossover_grid", "sweep_crossover", "sweep_sma_cross"]
# The Optuna driver is imported from framework.sweep.optuna_sweep (keeps optuna off the import path).
