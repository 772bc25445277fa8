"""Task definitions, one YAML file per task (installed as ``fxbench.tasks``).

A new task is one new ``NAME.yaml`` here, or in a folder listed in the
``FXBENCH_TASK_PATH`` environment variable; nothing else needs editing.
"""
