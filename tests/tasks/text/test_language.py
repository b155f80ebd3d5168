import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from py3langid.langid import MODEL_FILE, LanguageIdentifier

from newsmill.tasks.records import Document
from newsmill.tasks.text import fields
from newsmill.tasks.text.language import LanguageModel, language_model

SAMPLES = Path(__file__).parents[3] / "data" / "samples"
NOW = datetime(2026, 12, 6, tzinfo=UTC)

SCRIPTS = [
    "The council voted on Tuesday to extend the tram line to the docks.",
    "Le conseil municipal a voté mardi la prolongation du tramway jusqu'au port.",
    "Der Stadtrat hat am Dienstag die Verlängerung der Straßenbahn beschlossen.",
    "El ayuntamiento aprobó el martes la ampliación del tranvía hasta el puerto.",
    "Gemeenteraad stemt in met verlenging van de tramlijn naar de haven.",
    "Городской совет во вторник проголосовал за продление трамвайной линии.",
    "Το δημοτικό συμβούλιο ψήφισε την Τρίτη την επέκταση της γραμμής του τραμ.",
    "市议会周二投票决定将有轨电车线路延伸至码头。",
    "市議会は火曜日、路面電車の路線を港まで延伸することを決めた。",
    "시의회는 화요일 트램 노선을 부두까지 연장하기로 의결했다.",
    "صوت مجلس المدينة يوم الثلاثاء على تمديد خط الترام إلى الميناء.",
    "מועצת העיר הצביעה ביום שלישי על הארכת קו הרכבת הקלה לנמל.",
    "नगर परिषद ने मंगलवार को ट्राम लाइन को बंदरगाह तक बढ़ाने के लिए मतदान किया।",
    "สภาเมืองลงมติเมื่อวันอังคารให้ขยายเส้นทางรถรางไปถึงท่าเรือ",
    "Rada miasta przegłosowała we wtorek przedłużenie linii tramwajowej do portu.",
    "Kaupunginvaltuusto päätti tiistaina jatkaa raitiotielinjaa satamaan asti.",
    "THE COUNCIL VOTED ON TUESDAY TO EXTEND THE TRAM LINE TO THE DOCKS.",  # lowered first
    "Cafe\u0301 au lait, re\u0301sume\u0301, nai\u0308ve",  # NFC first
    "lone surrogate \ud800 in the middle of a sentence about the harbour",
    "ÃƒÂ©tÃƒÂ© mojibake left in a sentence",
    "",
    "12 345 678",
    "x" * 700,
]


def _sample_texts() -> list[str]:
    texts = []
    for path in sorted(SAMPLES.rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", errors="replace")
            texts.extend(text[start : start + 300] for start in range(0, len(text), 300))
    return texts


@pytest.fixture(scope="module")
def py3langid() -> LanguageIdentifier:
    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def test_a_batch_gets_py3langids_own_answers_bit_for_bit(py3langid: LanguageIdentifier) -> None:
    texts = SCRIPTS + _sample_texts()
    assert len(texts) > 100
    expected = [py3langid.classify(text) for text in texts]
    assert language_model().classify(texts) == expected
    assert len({language for language, _ in expected}) >= 12  # the scripts are told apart


def test_the_answer_does_not_depend_on_the_batch(py3langid: LanguageIdentifier) -> None:
    texts = SCRIPTS + _sample_texts()[:40]
    shuffled = random.Random(7).sample(texts, len(texts))
    alone = {text: language_model().classify([text])[0] for text in texts}
    assert dict(zip(shuffled, language_model().classify(shuffled), strict=True)) == alone
    assert language_model().classify([]) == []


def test_the_batch_stage_gives_each_document_what_it_would_get_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    docs = [
        Document(f"{i}.txt", str(i), "text", "", paragraphs=[text])
        for i, text in enumerate(SCRIPTS)
    ]
    one_by_one = [fields.add_fields(doc, NOW) for doc in docs]
    batched = fields.add_fields_to_batch(docs, NOW)
    assert batched.docs == one_by_one
    assert not batched.rejects

    def batch_fails(texts: list[str]) -> list[fields.Language]:
        if len(texts) > 1:
            raise MemoryError("a batch too large for the walk")
        return detect_languages(texts)

    detect_languages = fields.detect_languages
    monkeypatch.setattr(fields, "detect_languages", batch_fails)
    assert fields.add_fields_to_batch(docs, NOW).docs == one_by_one


def test_the_model_is_cached_memory_mapped_and_rebuilt_when_damaged(tmp_path: Path) -> None:
    texts = SCRIPTS[:8]
    expected = LanguageModel.from_model_file().classify(texts)
    first = LanguageModel.cached(tmp_path)
    [folder] = tmp_path.iterdir()
    names = ["feature_scores", "class_scores", "classes", "next_state", "row_base", "state_feature"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.npy" for n in names)
    mapped = LanguageModel.cached(tmp_path)
    assert not mapped._feature_scores.flags.writeable  # read from the cache, not the model
    assert first.classify(texts) == mapped.classify(texts) == expected

    damaged = folder / "next_state.npy"
    size = damaged.stat().st_size
    damaged.write_bytes(damaged.read_bytes()[: size // 2])
    assert LanguageModel.cached(tmp_path).classify(texts) == expected
    assert damaged.stat().st_size == size  # written again

    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert LanguageModel.cached(not_a_folder).classify(texts) == expected
