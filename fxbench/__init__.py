"""fxbench: a benchmark for blind estimation of audio-effect parameters.

Data flow, one module each: sources (dry audio) -> render (pedalboard effect)
-> features (Mel) -> dataset (parquet + card) -> models -> metrics -> results
-> leaderboard. Heavy libraries (torch, datasets, pedalboard) are imported by
those modules only, so that `import fxbench` and `fxbench --help` stay fast.
"""

__version__ = "0.1.0"
