"""Use cases, one module each; import them from their modules."""
