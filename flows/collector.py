"""Python's cyclic garbage collector, held off while a process starts.

A start-up imports Prefect, pydantic models and the stages' word lists: the collector walks
that growing heap again and again and finds next to no garbage (~15% of the imports' time:
importing Prefect's server 2.03–2.08 → 1.68–1.74 s). Held off meanwhile, it resumes with
what the start-up loaded frozen (`gc.freeze`), so that its later full collections skip
those long-lived objects. Used by `newsmill run` (`entry.console`, resumed when the flow is
called), the shard workers' forkserver (`worker_preload`) and the temporary API's server
(`temporary_api.create_app`).
"""

import gc


def hold_off_garbage_collection() -> None:
    gc.disable()


def resume_garbage_collection() -> None:
    """The collector back on, what was loaded meanwhile frozen; nothing if it was not held
    off (a run called in-process, not through the console command)."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()
