"""The version of every rule set that shapes what lands in the lake.

Each heuristic module declares its own version next to its rules and bumps it whenever its
output for the same input can change; `PIPELINE_VERSION` names them all, so every article
says what made it (`articles.pipeline_version`), entity and quote rows carry their stage's
version (`rules_version`), and a resumed run never reuses shards staged under other rules
(the version is part of its plan's fingerprint). The golden set in `tests/golden/` fails
when output changes while every version stays the same.
"""

from newsmill.tasks import __version__
from newsmill.tasks.dedup.exact import DEDUP_VERSION
from newsmill.tasks.dedup.near import NEAR_DUP_VERSION
from newsmill.tasks.ingest.extract import EXTRACT_VERSION
from newsmill.tasks.ingest.sources import PLAN_VERSION
from newsmill.tasks.mentions.entities import ENTITIES_VERSION
from newsmill.tasks.mentions.quotes import QUOTES_VERSION
from newsmill.tasks.text.boilerplate import BOILERPLATE_VERSION
from newsmill.tasks.text.clean import CLEAN_VERSION
from newsmill.tasks.text.fields import FIELDS_VERSION

# In the order the stages run.
RULE_VERSIONS: dict[str, str] = {
    "plan": PLAN_VERSION,
    "extract": EXTRACT_VERSION,
    "clean": CLEAN_VERSION,
    "dedup": DEDUP_VERSION,
    "fields": FIELDS_VERSION,
    "boilerplate": BOILERPLATE_VERSION,
    "entities": ENTITIES_VERSION,
    "quotes": QUOTES_VERSION,
    "near": NEAR_DUP_VERSION,
}

PIPELINE_VERSION = "; ".join([f"newsmill {__version__}", *RULE_VERSIONS.values()])
