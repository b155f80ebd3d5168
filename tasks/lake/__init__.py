"""The lake: storage, layout, staging and commit, resume checkpoints, rows and run records."""
