"""The golden set: inputs and the rows the pipeline makes of them, to catch output that
changes while every rule version stays the same (see `newsmill.tasks.versions`)."""
