"""Prefect flows, the CLI and what runs them: every newsmill process (the command, its
workers' forkserver, a deployment's run, a Dask or Ray worker unpickling a stage) imports
this package before anything imports pyarrow."""

from newsmill.tasks.memory import prefer_jemalloc

prefer_jemalloc()
