"""Model wrappers, one file per model family (installed as ``fxbench.baselines``).

A new model is one new file here that decorates a class with
``@fxbench.models.register_model("name")``; it is found automatically.
"""
