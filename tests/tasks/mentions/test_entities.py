import unicodedata
from dataclasses import replace

import pytest

from newsmill.tasks.mentions.entities import ENTITIES_VERSION, find_entities
from newsmill.tasks.mentions.quotes import QUOTES_VERSION
from newsmill.tasks.mentions.speakers import MentionSettings, add_mentions
from newsmill.tasks.records import Document
from newsmill.tasks.text.clean import clean_text
from newsmill.tasks.text.letters import without_diacritics


def _named(text: str) -> set[tuple[str, str, str]]:
    return {(e.label, e.text, e.canonical) for e in find_entities(text)}


def test_the_seeds_names_in_canonical_form_without_titles(seed_text: str) -> None:
    entities = find_entities(seed_text)
    for entity in entities:
        assert seed_text[entity.start : entity.end] == entity.text
    found = {(e.label, e.text, e.canonical) for e in entities}
    assert {
        ("PERSON", "Dmitry Medvedev", "Dmitry Medvedev"),
        ("PERSON", "Medvedev", "Dmitry Medvedev"),
        ("PERSON", "Yoon Suk Yeol", "Yoon Suk Yeol"),
        ("PERSON", "Yoon", "Yoon Suk Yeol"),
        ("PERSON", "Dmitry Peskov", "Dmitry Peskov"),
        ("LOC", "DPRK", "North Korea"),
        ("LOC", "Democratic People's Republic of Korea", "North Korea"),
        ("LOC", "North Korea", "North Korea"),
        ("LOC", "Kyiv", "Kyiv"),
        ("ORG", "White House", "White House"),
        ("ORG", "Kremlin", "Kremlin"),
    } <= found
    yoon = next(e for e in entities if e.text == "Yoon Suk Yeol")
    assert yoon.role == "south korean president"
    assert not any("President" in e.text or "Secretary" in e.text for e in entities)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Gov. Mike Pence spoke in Indiana.", {("PERSON", "Mike Pence", "Mike Pence")}),
        (
            "The U.S. Army left the U.S. today.",
            {("ORG", "U.S. Army", "U.S. Army"), ("LOC", "U.S.", "United States")},
        ),
        (
            "The National Aeronautics and Space Administration (NASA) said so.",
            {("ORG", "NASA", "NASA")},
        ),
        ("Yesterday it rained in Paris.", {("LOC", "Paris", "Paris")}),
        ("Ukraine. As the war went on", {("LOC", "Ukraine", "Ukraine")}),
    ],
)
def test_titles_abbreviations_and_sentence_ends(text: str, expected: set) -> None:
    assert expected <= _named(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "nothing here is named at all, just words.",
        "THE WHOLE STORY IS SHOUTED IN CAPITALS. PRESIDENT SAID NO.",
        " ".join(["Capital"] * 20_000),
        # long runs before a number, a comma or a score: the table, dateline and result
        # patterns stay linear
        " ".join(["Capital"] * 20_000) + " 1 Leeds 2",
        " ".join(["CAPITAL"] * 20_000) + ", France — ",
        "Anna beat Bob 2-1 " * 5_000,
        "Anna Smith. " * 5_000,
        '"' * 10_000,
    ],
)
def test_hostile_text_never_crashes(text: str) -> None:
    entities = find_entities(text)
    assert all(text[e.start : e.end] == e.text for e in entities)


def _doc(text: str, language: str | None = "en") -> Document:
    return Document(
        source="x.txt",
        input_hash="0" * 16,
        source_kind="text",
        body=text,
        paragraphs=text.split("\n\n"),
        language=language,
    )


def test_an_office_named_alone_is_its_holder_or_nothing() -> None:
    text = (
        "U.S. President Donald Trump spoke. The President later acted. "
        "Egyptian President Abdel Fattah el-Sisi met him. The President smiled. The Senator left."
    )
    offices = [(e.text, e.canonical) for e in find_entities(text) if e.text == "President"]
    assert offices == [("President", "Donald Trump"), ("President", "Abdel Fattah el-Sisi")]
    assert "Senator" not in {e.text for e in find_entities(text)}  # no senator named


def test_speakers_resolve_to_the_articles_canonical_names() -> None:
    text = (
        "Foreign Minister Anna Lindqvist met Mayor Tom Berg in Oslo.\n\n"
        '"We agreed on everything," the foreign minister said.\n\n'
        '"Not quite," Berg said. Later he added: "We will talk again."\n\n'
        '"It is late," Governor Lisa Moe told reporters.'
    )
    doc = add_mentions(_doc(text))
    speakers = {q.quote: (q.speaker_mention, q.speaker) for q in doc.quotes}
    assert speakers["We agreed on everything"] == ("the foreign minister", "Anna Lindqvist")
    assert speakers["Not quite"] == ("Berg", "Tom Berg")
    assert speakers["We will talk again."] == ("he", "Tom Berg")
    assert speakers["It is late"] == ("Governor Lisa Moe", "Lisa Moe")


def test_other_languages_and_switched_off_get_nothing() -> None:
    text = "Le président Emmanuel Macron a dit : « Nous agirons », à Paris."
    assert add_mentions(_doc(text, language="fr")).entities == []
    english = _doc("Anna Smith said hello in Paris.")
    assert add_mentions(english).entities
    assert add_mentions(english).mentions_version == f"{ENTITIES_VERSION}; {QUOTES_VERSION}"
    assert add_mentions(english, MentionSettings(entities=False)).entities == []
    assert add_mentions(replace(english, language=None)).quotes == []


def test_a_spacy_pipeline_finds_entities_mapped_onto_our_labels(
    seed_text: str, spacy_pipeline: str
) -> None:
    entities = find_entities(seed_text, spacy_pipeline)
    found = {(e.label, e.text, e.canonical) for e in entities}
    assert {
        ("PERSON", "Yoon Suk Yeol", "Yoon Suk Yeol"),
        ("PERSON", "Yoon", "Yoon Suk Yeol"),
        ("LOC", "DPRK", "North Korea"),  # GPE -> LOC, and our place aliases
        ("LOC", "Seoul", "Seoul"),
        ("ORG", "Kremlin", "Kremlin"),
    } <= found
    assert not any(e.text == "Russian" for e in entities)  # NORP is not one of ours
    yoon = next(e for e in entities if e.text == "Yoon Suk Yeol")
    assert yoon.role == "south korean president"
    doc = add_mentions(_doc(seed_text), MentionSettings(ner=spacy_pipeline))
    yoon_quote = next(q for q in doc.quotes if q.quote.startswith("It might be difficult"))
    assert yoon_quote.speaker == "Yoon Suk Yeol"
    # rows found by a model name the model and its version, not just our rules
    assert doc.mentions_version is not None
    assert doc.mentions_version.startswith(f"{ENTITIES_VERSION}; {QUOTES_VERSION}; spacy ")


def test_an_unusable_finder_is_a_clear_error() -> None:
    from newsmill.tasks.errors import NerError
    from newsmill.tasks.mentions.entities import check_finder

    with pytest.raises(NerError, match="rules' or 'spacy:<model>'"):
        check_finder("stanza")
    with pytest.raises(NerError, match="cannot load the spaCy pipeline"):
        check_finder("spacy:/no/such/pipeline")


@pytest.mark.parametrize(
    ("text", "persons"),
    [
        ("Charles Bolden visited the centre.", {"Charles Bolden"}),  # a given name
        ("Internet Explorer crashed again on Monday.", set()),  # no sign of a person
        ("The Sea Org runs the base.", set()),
        ("Oleksandr Usyk won the fight. Usyk said he was tired.", {"Oleksandr Usyk", "Usyk"}),
        ("Hamid Karzai, the former president, arrived.", {"Hamid Karzai"}),  # apposition
        # no word of the name is an English word: "Lukaku" alone is then that person too
        ("Romelu Lukaku doubled the lead. Lukaku scored again.", {"Romelu Lukaku", "Lukaku"}),
        ("Aer Lingus cut fares.", set()),  # ... named again by the last word alone
        # ... or written as an East Asian name with a hyphenated given name
        ("In the second half, Hwang Hee-Chan was booked.", {"Hwang Hee-Chan"}),
        # ... but not a name led by an acronym, a place or another name of the article
        ("JPL Stardust landed in Utah.", set()),
        # ... which it names as the owner of what follows
        ("Andy Warhol took them. The Warhol Polaroids were shown.", {"Andy Warhol", "Warhol"}),
    ],
)
def test_a_run_of_capitalised_words_is_a_person_only_with_a_sign_of_one(
    text: str, persons: set[str]
) -> None:
    assert {e.text for e in find_entities(text) if e.label == "PERSON"} == persons


@pytest.mark.parametrize(
    ("text", "expected", "absent"),
    [
        # a lone given name is a person; one that is also a plain word is not
        ("Doctors said Gloria had eczema.", {("PERSON", "Gloria")}, set()),
        ("Doctors asked whether Will could stay.", set(), {"Will"}),
        # known organisations, and a well-known person, named alone
        ("Results on Google and Twitter differ.", {("ORG", "Google"), ("ORG", "Twitter")}, set()),
        ("The essay quotes Aristotle at length.", {("PERSON", "Aristotle")}, set()),
        # a possessive ends a name
        (
            "Andy Warhol died in 1987. They showed Warhol's Polaroids.",
            {("PERSON", "Warhol")},
            {"Warhol's Polaroids"},
        ),
        (
            "It was Sweden's Andreas Granqvist who scored.",
            {("LOC", "Sweden")},
            {"Sweden's Andreas"},
        ),
        ("Voters backed the New People's Party.", {("ORG", "New People's Party")}, set()),
        # acronyms that are shouted words, numerals or things are not organisations
        ("I will serve ALL of the people, all of them.", set(), {"ALL"}),
        ("He took an IQ test before Super Bowl XVII.", set(), {"IQ", "XVII"}),
        ("Officials at NASA said the launch was delayed.", {("ORG", "NASA")}, set()),
        # caption labels and adjectives made from names are not mentions
        ("The gallery opened. Image: Andy Warhol.", {("PERSON", "Andy Warhol")}, {"Image"}),
        ("The pro-Beijing camp won. Beijing welcomed it.", {("LOC", "Beijing")}, set()),
        # a title "of" something: the person named after it, else the title names them
        (
            "The CEO of the Refugee Council Enver Solomon spoke.",
            {("PERSON", "Enver Solomon"), ("ORG", "Refugee Council")},
            {"Council Enver Solomon"},
        ),
        (
            "Critics wrote to the Governor of Virginia on Tuesday.",
            {("PERSON", "Governor of Virginia")},
            {"of Virginia"},
        ),
        # a weekday after a name is not part of it
        (
            "Wikinews interviewed Hugh McGuire Sunday about the project.",
            {("PERSON", "Hugh McGuire")},
            {"Hugh McGuire Sunday"},
        ),
        # the last word of a facility or a feature of the land makes a place
        (
            "Crews left Kennedy Space Center and sailed the Ross Sea.",
            {("LOC", "Kennedy Space Center"), ("LOC", "Ross Sea")},
            set(),
        ),
        (
            "She joined the Centre for Social Evolution.",
            {("ORG", "Centre for Social Evolution")},
            set(),
        ),
        # the UK's nations and states gone since 1990 are places; a known place before a
        # connector ends a mention ("Bank of England" is still one)
        (
            "He left England for the Soviet Union and the Bank of England.",
            {("LOC", "England"), ("LOC", "Soviet Union"), ("ORG", "Bank of England")},
            {"England for the Soviet Union"},
        ),
        # in a match report, the countries and the sides of a result are the teams
        (
            "Group G — Belgium 3 – 0 Panama. Belgium faced Panama in Sochi.",
            {("ORG", "Belgium"), ("ORG", "Panama"), ("LOC", "Sochi")},
            {("LOC", "Belgium")},
        ),
        # names WordNet knows under one kind; acronyms it knows as things are not organisations
        (
            "Talks with Gorbachev stalled. Pilgrims reached Mecca. The DNA and IQ tests ended.",
            {("PERSON", "Gorbachev"), ("LOC", "Mecca")},
            {"DNA", "IQ"},
        ),
        # ... unless the article spells it out in capitals
        (
            "The Football Association (FA) fined him. Sales at General Motors fell; GM said so.",
            {("ORG", "FA"), ("ORG", "GM"), ("ORG", "General Motors")},
            {"Motors"},
        ),
        # a capitalised acronym's period ends the sentence; religions and parties are no names
        (
            "He moved to the US. A Democrat and a Muslim cleric said so.",
            {("LOC", "US")},
            {"US.", "Democrat", "Muslim"},
        ),
        # an opener word that is part of a known place stays ("New" in "New Zealand")
        ("New Zealand begins a vote on its flag.", {("LOC", "New Zealand")}, {"Zealand"}),
        # a person's name before "of" ends there; a given name leads a person's name only
        # in a run of up to four words
        (
            "Claudia Mo of the Civic Party won. The Andy Warhol Photographic Legacy Program gave.",
            {("PERSON", "Claudia Mo"), ("ORG", "Civic Party")},
            {
                "Claudia Mo of the Civic Party",
                ("PERSON", "Andy Warhol Photographic Legacy Program"),
            },
        ),
        # business words around a name make it a company, even where it "said" something
        (
            "Shares in Exel rose. Exel said it had talks. Lycos boss Mary Jones quit.",
            {("ORG", "Exel"), ("ORG", "Lycos"), ("PERSON", "Mary Jones")},
            {("PERSON", "Exel")},
        ),
        (
            "He wrote for Slate Magazine and LA Weekly.",
            {("ORG", "Slate Magazine"), ("ORG", "LA Weekly")},
            set(),
        ),
        # name particles inside a person's name
        ("The coach Luigi del Neri arrived.", {("PERSON", "Luigi del Neri")}, set()),
        # a lone word that is the surname of a person named in full is that person
        (
            "Valeska Paris was held aboard. Paris claims she was kept there. Paris is far.",
            {("PERSON", "Paris")},
            {("LOC", "Paris")},
        ),
        # an acronym that is a plain word is not an organisation
        ("The EDGE team said it was OK.", set(), {"OK", "EDGE"}),
        # a product names its maker
        ("He read the Google Analytics figures.", {("ORG", "Google")}, {"Google Analytics"}),
        (
            "The fair ran from June 1 - 3 July in Belgium.",
            {("LOC", "Belgium")},
            {("ORG", "Belgium")},
        ),
    ],
)
def test_names_by_gazetteer_and_context(
    text: str, expected: set[tuple[str, str]], absent: set[str | tuple[str, str]]
) -> None:
    """`absent` names a text that must not be found at all, or a (label, text) pair."""
    entities = find_entities(text)
    labelled = {(e.label, e.text) for e in entities}
    assert expected <= labelled
    assert not absent & ({e.text for e in entities} | labelled)
    assert all(text[e.start : e.end] == e.text for e in entities)


NAMES_IN_MANY_SCRIPTS = {
    "The decision came late, the minister, Émilie Laurent, said on Monday.": {"Émilie Laurent"},
    "Łucja Nowak met Şükrü Öztürk in Ankara on Tuesday.": {
        "Łucja Nowak",
        "Şükrü Öztürk",
        "Ankara",
    },
    "Søren Kierkegaard and Ólafur Arnalds spoke before Ángel Di María scored twice.": {
        "Søren Kierkegaard",
        "Ólafur Arnalds",
        "Ángel Di María",
    },
    "The talks, said Zdeněk Hřib, were long. Ștefan Ionuț agreed.": {
        "Zdeněk Hřib",
        "Ștefan Ionuț",
    },
    "Mehmet Çelik and Gülşen Aydın arrived with Björn Åström.": {
        "Mehmet Çelik",
        "Gülşen Aydın",
        "Björn Åström",
    },
    "Prime Minister Nguyễn Xuân Phúc said the port would open.": {"Nguyễn Xuân Phúc"},
    "Κυριάκος Μητσοτάκης met Дмитрий Песков in Athens.": {
        "Κυριάκος Μητσοτάκης",
        "Дмитрий Песков",
        "Athens",
    },
}


@pytest.mark.parametrize("text", NAMES_IN_MANY_SCRIPTS)
def test_names_with_diacritics_and_other_scripts_are_found_as_their_ascii_spelling_is(
    text: str,
) -> None:
    found = {(e.label, e.text) for e in find_entities(text)}
    assert {name for _, name in found} == NAMES_IN_MANY_SCRIPTS[text]
    ascii_found = {(e.label, e.text) for e in find_entities(without_diacritics(text))}
    assert {(label, without_diacritics(name)) for label, name in found} == ascii_found


def test_the_issues_names_are_whole_people() -> None:
    emilie, lucja = list(NAMES_IN_MANY_SCRIPTS)[:2]
    assert _named(emilie) == {("PERSON", "Émilie Laurent", "Émilie Laurent")}
    assert {(label, text) for label, text, _ in _named(lucja)} == {
        ("PERSON", "Łucja Nowak"),
        ("PERSON", "Şükrü Öztürk"),
        ("LOC", "Ankara"),
    }


def test_decomposed_accents_give_the_same_entities_as_composed_ones() -> None:
    composed = "Les Bleus won, and Émilie Lévêque said Şükrü Öztürk would stay."
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    [cleaned] = clean_text(decomposed).paragraphs
    assert cleaned == composed
    assert _named(cleaned) == _named(composed)
    assert ("PERSON", "Émilie Lévêque", "Émilie Lévêque") in _named(composed)


@pytest.mark.parametrize(
    ("text", "expected", "absent"),
    [
        # companies by their legal form
        (
            "Shares in Norvex Holdings AG fell after Brightwater Ltd lost money; Kelvin plc rose.",
            {("ORG", "Norvex Holdings AG"), ("ORG", "Brightwater Ltd"), ("ORG", "Kelvin plc")},
            set(),
        ),
        ("Tamsin Group and Orsted SA agreed a merger.", {("ORG", "Orsted SA")}, set()),
        # institutions are bodies, not people, even before "said"
        (
            "The Academy of Fine Arts said the show would open.",
            {("ORG", "Academy of Fine Arts")},
            {("PERSON", "Academy of Fine Arts")},
        ),
        # clubs: named after their city, by a result, by sports words, by their name's form
        (
            "Leeds beat Everton 2-1 on Saturday.",
            {("ORG", "Leeds"), ("ORG", "Everton")},
            {("LOC", "Leeds")},
        ),
        ("The striker, who plays for Kilmarnock, was hurt.", {("ORG", "Kilmarnock")}, set()),
        (
            "Hartlepool United striker Joe Grant scored twice.",
            {("ORG", "Hartlepool United"), ("PERSON", "Joe Grant")},
            set(),
        ),
        ("Real Sociedad drew at home.", {("ORG", "Real Sociedad")}, {("LOC", "Real Sociedad")}),
        # a national side stays its country
        ("France coach Bernard Laporte named his side.", {("LOC", "France")}, {("ORG", "France")}),
        # a plural noun opening a sentence is nobody; a family name ending in s is somebody
        ("Residents said the water was brown. Investigators found nothing.", set(), {"Residents"}),
        ("Sanders said the vote was close.", {("PERSON", "Sanders")}, set()),
        # a dateline's place, however it is capitalised; an acronym before a comma is no dateline
        (
            "MÂCON, France — Frost destroyed the vines.",
            {("LOC", "MÂCON"), ("LOC", "France")},
            set(),
        ),
        ("NASA, NOAA and ESA agreed on Monday.", {("ORG", "NASA")}, {("LOC", "NASA")}),
        # shouted lines name nobody: capitals say nothing there
        (
            "OFFICIALS SAID THE MAYOR, ANNA SMITH, AGREED.\n\nThe rest was calm.",
            set(),
            {"ANNA SMITH"},
        ),
        # score tables: a one-word name in a row is a club, the header names nobody
        (
            "Pos Team Pld W D L Pts\n1 Arsenal 10 8 1 1 25\n2 Chelsea 10 7 2 1 23",
            {("ORG", "Arsenal"), ("ORG", "Chelsea")},
            {"Pos Team Pld W D L Pts", ("PERSON", "Chelsea")},
        ),
        (
            "Results: Arsenal 2 Chelsea 1; Everton 0 Leeds 3.",
            {("ORG", "Leeds")},
            {("LOC", "Leeds")},
        ),
        ("100m final\n1 Usain Bolt 9 58\n2 Yohan Blake 9 75", {("PERSON", "Yohan Blake")}, set()),
        # mixed scripts
        (
            "The Moscow office (московский офис) said Алексей Миллер would visit Berlin.",
            {("LOC", "Moscow"), ("PERSON", "Алексей Миллер"), ("LOC", "Berlin")},
            set(),
        ),
    ],
)
def test_organisations_clubs_datelines_and_capitals(
    text: str, expected: set[tuple[str, str]], absent: set[str | tuple[str, str]]
) -> None:
    test_names_by_gazetteer_and_context(text, expected, absent)


def test_a_datelines_place_is_named_as_a_name_is() -> None:
    [macon, *_] = find_entities("MÂCON, France — Frost destroyed the vines.")
    assert (macon.text, macon.canonical) == ("MÂCON", "Mâcon")


@pytest.mark.parametrize(
    ("text", "person", "role"),
    [
        # a dictionary word opening the sentence before a full name is not part of it
        ("Librarian Tomasz Nowak said the doors open at nine.", "Tomasz Nowak", None),
        ("Nurse Jane Doe said the ward was full.", "Jane Doe", None),
        # a given name that is also a word is the person's own
        ("Mark Taylor said the ward was full.", "Mark Taylor", None),
        ("Will Smith said the ward was full.", "Will Smith", None),
        # a title is the person's role, as before
        ("Governor Anna Lindqvist said rates stay.", "Anna Lindqvist", "governor"),
        # a name ending in s takes the apostrophe alone, and the possessive ends the name
        (
            "Sprinter Kelly Holmes' Olympic victory was the moment of the year.",
            "Kelly Holmes",
            None,
        ),
    ],
)
def test_words_before_and_after_a_name_are_not_part_of_it(
    text: str, person: str, role: str | None
) -> None:
    people = {(e.canonical, e.role or None) for e in find_entities(text) if e.label == "PERSON"}
    assert people == {(person, role)}
