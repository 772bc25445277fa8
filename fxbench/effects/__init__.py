"""Effects pedalboard lacks, one file each, registered with ``fxbench.render.register_effect``.

A task names one in ``effect.plugin``; the renderer imports every module here on first use.
"""
