"""domain/search.py: the words a message is found by, whatever their case and accents."""

from __future__ import annotations

from domain.search import query_words, words


def test_words_are_lower_case_without_accents_distinct_and_in_order() -> None:
    assert words("Réfund REFUND refund, Café au lait!") == ["refund", "cafe", "au", "lait"]


def test_one_letter_words_and_punctuation_are_not_words() -> None:
    assert words("I a - ! 42 x") == ["42"]
    assert words(None) == [] and words("") == []


def test_a_long_message_indexes_at_most_its_first_words_and_long_words_are_cut() -> None:
    text = " ".join(f"w{i}" for i in range(500))
    assert len(words(text)) == 200
    assert words("a" * 100) == ["a" * 64]


def test_a_query_has_at_most_eight_words() -> None:
    assert query_words("one two three four five six seven eight nine") == [
        "one",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
    ]
