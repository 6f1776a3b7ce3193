"""Console scripts: ``nova-hwabi-report`` (more to come)."""
