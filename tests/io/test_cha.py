"""The CHAT (.cha) reader: headers, tiers, text cleaning and retracings as gold self-repairs."""

from __future__ import annotations

from pathlib import Path

import pytest

import convmaint
from convmaint.errors import FormatError
from convmaint.io.cha import clean_main_tier
from convmaint.model import Conversation, Move, Role

SNACK = (
    "@UTF8\n"
    "@Begin\n"
    "@Languages:\teng\n"
    "@Participants:\tCHI Lily Target_Child, MOT Mother, INV Investigator\n"
    "@ID:\teng|Snack|CHI|2;06.14|female|||Target_Child|||\n"
    "@ID:\teng|Snack|MOT|||||Mother|||\n"
    "@ID:\teng|Snack|INV|||||Investigator|||\n"
    "@Date:\t12-JAN-1994\n"
    "@Comment:\tsnack time in the kitchen\n"
    "*MOT:\twhat do you want (.) &-um for snack ? \x151200_3400\x15\n"       # 10
    "%mor:\tpro:int|what v|do pro:per|you v|want prep|for n|snack ?\n"
    "*CHI:\tI want <the red> [//] &-uh the blue cup@b . \x153500_5200\x15\n"  # 12
    "%com:\tpoints at the cupboard\n"
    "*CHI:\tthe [/] the [/] the cookie +...\n"                               # 14
    "*MOT:\txxx .\n"                                                          # 15
    "*CHI:\t<I want> [///] can I have\n"                                      # 16
    "\tsome juice (be)cause I'm thirsty ?\n"
    "*MOT:\t+< yeah [!] you (.) you [/-] we can get juice [+ bch] .\n"       # 18
    "*INV:\tdoggie [: dog] &=laughs 0is xxx there +/.\n"                      # 19
    "@End\n"
)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def load(path, **kw) -> list[Conversation]:
    return list(convmaint.load(path, format="cha", **kw))


@pytest.fixture
def snack(tmp_path) -> Conversation:
    [conv] = load(write(tmp_path / "snack.cha", SNACK))
    return conv


def span(text: str, s) -> str:
    return text[s[0]:s[1]]


def test_turns_speakers_and_clean_text(snack):
    assert snack.id == "snack"
    assert [t.speaker for t in snack.turns] == ["MOT", "CHI", "CHI", "MOT", "CHI", "MOT", "INV"]
    assert {t.role for t in snack.turns} == {Role.HUMAN}
    assert [t.text for t in snack.turns] == [
        "what do you want um for snack?",
        "I want the red uh the blue cup.",
        "the the the cookie...",
        "",
        "I want can I have some juice because I'm thirsty?",
        "yeah you you we can get juice.",
        "doggie there.",
    ]


def test_metadata_participants_headers_and_tiers(snack):
    parts = snack.metadata["participants"]
    assert parts["CHI"]["name"] == "Lily" and parts["CHI"]["role"] == "Target_Child"
    assert parts["CHI"]["age"] == "2;06.14" and parts["CHI"]["sex"] == "female"
    assert parts["MOT"] == {"role": "Mother", "language": "eng", "corpus": "Snack"}
    assert snack.metadata["headers"]["Date"] == "12-JAN-1994"
    assert snack.metadata["headers"]["Comment"] == "snack time in the kitchen"
    assert snack.metadata["format"] == "cha"
    first, second = snack.turns[0], snack.turns[1]
    assert first.metadata["tiers"]["mor"].startswith("pro:int|what")
    assert second.metadata["tiers"] == {"com": "points at the cupboard"}
    assert first.timestamp == 1.2 and first.metadata["time_end"] == 3.4
    assert first.metadata["terminator"] == "?"
    assert snack.turns[5].metadata["linkers"] == ("+<",)
    assert snack.turns[6].metadata["terminator"] == "+/."
    assert "<the red> [//]" in second.metadata["chat"]


def test_retracings_become_gold_self_repairs(snack):
    gold = snack.gold
    assert all(m.label == "repair.self" and m.detector == "gold:cha" for m in gold)
    rows = [(m.turn, m.cue, m.attributes["kind"],
             span(snack.turns[m.turn].text, m.attributes["reparandum"]),
             span(snack.turns[m.turn].text, m.attributes["repair"])) for m in gold]
    assert rows == [
        (1, "[//]", "replacement", "the red", "the blue"),
        (2, "[/]", "repetition", "the", "the"),
        (2, "[/]", "repetition", "the", "the"),
        (4, "[///]", "restart", "I want", "can I have some juice because I'm thirsty"),
        (5, "[/-]", "restart", "you", "we can get juice"),
    ]
    replacement = gold[0]
    text = snack.turns[1].text
    assert span(text, replacement.attributes["editing_term"]) == "uh"
    assert text[replacement.start:replacement.end] == "the red uh the blue"
    first, second = gold[1], gold[2]
    assert first.attributes["reparandum"] == (0, 3) and second.attributes["reparandum"] == (4, 7)


def test_gold_turn_indexes_hold_after_an_untranscribed_turn(snack):
    assert snack.turns[3].text == "" and snack.turns[3].metadata["chat"] == "xxx ."
    assert [m.turn for m in snack.gold if m.attributes["kind"] == "restart"] == [4, 5]


@pytest.mark.parametrize(("tier", "text"), [
    ("&-uh I think so .", "uh I think so."),
    ("it's &+fr from the xxx yyy shop .", "it's fr- from the shop."),
    ("look (..) at (2.5) that !", "look at that!"),
    ("you want 0to go [?] ?", "you want go?"),
    ("Santa_Claus ice+cream gonna [: going to] ‡ Mommy .", "Santa Claus ice cream gonna, Mommy."),
    ("no: [= refusing] [* m] [!!] ba:nana@c +..?", "no banana...?"),
    ("&*MOT:yeah it's <big> [>] +//.", "it's big."),
    ("0 [=! cries] .", ""),
])
def test_cleaning(tier, text):
    assert clean_main_tier(tier).text == text


def test_retrace_of_a_single_unintelligible_word_has_empty_spans():
    u = clean_main_tier("xxx [/] xxx the dog .")
    assert u.text == "the dog." and u.moves[0]["reparandum"] == [0, 0] and u.moves[0]["repair"] == [0, 0]


def test_nested_scopes():
    u = clean_main_tier("<I <the> [/] the> [//] you see .")
    assert [(m["code"], span(u.text, m["reparandum"]), span(u.text, m["repair"])) for m in u.moves] == [
        ("[//]", "I the the", "you see"), ("[/]", "the", "the")]


def test_sniffed_by_extension_and_content(tmp_path):
    path = write(tmp_path / "snack.cha", SNACK)
    assert convmaint.io.sniff(path).name == "cha"
    assert len(list(convmaint.load(path))[0]) == 7


def test_malformed_lines_are_reported_with_path_and_line(tmp_path):
    text = (
        "@Begin\n"
        "%com:\tbefore anything\n"       # 2: dependent tier before any main tier
        "*CHI:\thi mommy .\n"
        "*MOT hello .\n"                 # 4: no colon
        "just some words\n"              # 5: not a CHAT line
        "*MOT:\t[/] hello .\n"           # 6: retracing with nothing before it
        "*MOT:\thello again .\n"
    )                                    # no @End
    errors: list = []
    [conv] = load(write(tmp_path / "broken.cha", text), errors=errors)
    assert [t.text for t in conv.turns] == ["hi mommy.", "hello.", "hello again."]
    assert [e.line for e in errors] == [2, 4, 5, 7, 6]
    assert all(isinstance(e, FormatError) and e.path.endswith("broken.cha") for e in errors)
    assert "no @End" in errors[3].reason and "retracing" in errors[4].reason


def test_content_after_end_is_reported(tmp_path):
    errors: list = []
    [conv] = load(write(tmp_path / "after.cha", "@Begin\n*CHI:\tbye .\n@End\n*CHI:\toops .\n"), errors=errors)
    assert len(conv) == 1 and [e.line for e in errors] == [4]


def test_not_a_chat_file_raises(tmp_path):
    with pytest.raises(FormatError) as exc:
        load(write(tmp_path / "notes.cha", "Dear diary,\ntoday I read CHAT files.\n"))
    assert exc.value.line == 1


def test_role_map_does_not_override_without_asking(tmp_path):
    [conv] = load(write(tmp_path / "snack.cha", SNACK), roles={"CHI": "model"})
    assert conv.turns[1].role is Role.HUMAN


def test_gold_moves_are_valid_moves(snack):
    for m in snack.gold:
        assert isinstance(m, Move)
        text = snack.turns[m.turn].text
        for key in ("reparandum", "repair"):
            s, e = m.attributes[key]
            assert 0 <= s <= e <= len(text)
