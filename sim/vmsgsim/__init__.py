"""Flow scripts of the virtio-msg peripheral: generation, build, runs, regression, reports."""
