"""Behaviour of the TaskRouter expression language: parsing, evaluation semantics and syntax errors."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from domain.errors import InvalidParameter
from domain.routing import Expression, ExpressionSyntaxError, KeyRef, parse_expression
from domain.routing.expressions import MAX_NESTING_DEPTH


def evaluate(text: str, document: dict[str, Any] | None = None) -> bool:
    return parse_expression(text).evaluate(document or {})


def syntax_error(text: str) -> ExpressionSyntaxError:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression(text)
    return caught.value


# Twilio documentation examples -------------------------------------------------------------------------


def test_twilio_target_workers_example_matches_a_skilled_english_speaker() -> None:
    expression = "(skills HAS 'support') AND (languages HAS 'english')"
    assert evaluate(expression, {"skills": ["sales", "support"], "languages": ["english", "french"]})
    assert not evaluate(expression, {"skills": ["sales"], "languages": ["english"]})
    assert not evaluate(expression, {"skills": ["support"]})


def test_twilio_filter_example_matches_gold_tickets_only() -> None:
    expression = "customer_value == 'Gold' AND type == 'ticket'"
    assert evaluate(expression, {"customer_value": "Gold", "type": "ticket"})
    assert not evaluate(expression, {"customer_value": "Silver", "type": "ticket"})
    assert not evaluate(expression, {"customer_value": "Gold"})


def test_requested_agent_expression_compares_task_and_worker_in_one_context() -> None:
    expression = parse_expression("task.requested_agent == worker.agent_id")
    assert expression.evaluate({"task": {"requested_agent": "alice"}, "worker": {"agent_id": "alice"}})
    assert not expression.evaluate({"task": {"requested_agent": "alice"}, "worker": {"agent_id": "bob"}})


def test_required_language_in_worker_spoken_languages() -> None:
    expression = parse_expression("task.required_language IN worker.spoken_languages")
    context = {"task": {"required_language": "es"}, "worker": {"spoken_languages": ["en", "es"]}}
    assert expression.evaluate(context)
    assert not expression.evaluate({**context, "worker": {"spoken_languages": ["en"]}})


def test_lowercase_in_with_array_literal_of_activity_names() -> None:
    expression = "worker.activity_name in ['Generally Available','High Value Tasks']"
    assert evaluate(expression, {"worker": {"activity_name": "High Value Tasks"}})
    assert not evaluate(expression, {"worker": {"activity_name": "Offline"}})


def test_single_equals_is_an_alias_for_double_equals() -> None:
    assert evaluate("taskrouter.dayOfWeek = 'Sat'", {"taskrouter": {"dayOfWeek": "Sat"}})
    assert not evaluate("taskrouter.dayOfWeek = 'Sat'", {"taskrouter": {"dayOfWeek": "Mon"}})


def test_one_equals_one_is_always_true_and_one_equals_zero_never() -> None:
    assert evaluate("1==1")
    assert evaluate("1 == 1", {"anything": "at all"})
    assert not evaluate("1==0")


def test_documented_structure_examples() -> None:
    document = {"key": 2, "object": {"param": "pear"}, "language": "fr", "skill_rating": 6}
    for text in [
        "0 != 1",
        '"apple" != "orange"',
        "key > 1",
        'object.param != "apple"',
        'language IN ["en", "fr"]',
        '(language == "en" OR language == "fr") AND skill_rating >= 5.1',
    ]:
        assert evaluate(text, document), text


# Constants ----------------------------------------------------------------------------------------------


def test_bare_boolean_constant_is_a_whole_expression() -> None:
    assert evaluate("true")
    assert evaluate("TRUE")
    assert not evaluate("false")
    assert evaluate("false OR true")


def test_boolean_literals_are_case_insensitive_and_compare_to_booleans() -> None:
    for spelling in ["true", "True", "TRUE", "tRuE"]:
        assert evaluate(f"vip == {spelling}", {"vip": True})
        assert not evaluate(f"vip == {spelling}", {"vip": False})


def test_single_and_double_quoted_strings_are_equivalent() -> None:
    assert evaluate("""name == 'Ann' AND name == "Ann" """, {"name": "Ann"})


def test_escaped_quote_inside_a_string() -> None:
    assert evaluate(r"name == 'O\'Brien'", {"name": "O'Brien"})


def test_numbers_int_float_and_negative() -> None:
    document = {"i": 1, "f": 1.0, "n": -2, "e": 1500}
    assert evaluate("i == 1.0 AND f == 1 AND n == -2 AND n < -1.5 AND e == 1.5e3", document)


def test_empty_array_literal() -> None:
    assert not evaluate("x IN []", {"x": "a"})
    assert evaluate("x NOT IN []", {"x": "a"})


# Keys ---------------------------------------------------------------------------------------------------


def test_nested_keys_and_array_index_resolve_like_the_twilio_docs() -> None:
    document = {"string_const": "foo", "object": {"array": ["a", "b", "c"], "attr": "bar"}}
    assert evaluate("string_const == 'foo'", document)
    assert evaluate("object.array HAS 'b'", document)
    assert evaluate("object.array[2] == 'c'", document)
    assert evaluate("object.attr == 'bar'", document)


def test_index_past_the_end_resolves_to_null() -> None:
    assert evaluate("object.array[3] == null", {"object": {"array": ["a"]}})


def test_index_into_a_non_array_resolves_to_null() -> None:
    assert evaluate("object[0] == null", {"object": {"0": "x"}})


def test_missing_key_equals_null_and_not_equal_null_tests_presence() -> None:
    assert evaluate("preferred_agents == null", {})
    assert not evaluate("preferred_agents != null", {})
    assert evaluate("preferred_agents != null", {"preferred_agents": ["WK1"]})
    assert not evaluate("preferred_agents == null", {"preferred_agents": ["WK1"]})


def test_json_null_value_behaves_like_a_missing_key() -> None:
    assert evaluate("x == null", {"x": None})


def test_missing_nested_parent_resolves_to_null() -> None:
    assert evaluate("a.b.c == null", {"a": {"b": "not an object"}})


def test_missing_key_is_not_equal_to_a_string() -> None:
    assert evaluate("language != 'en'", {})
    assert not evaluate("language == 'en'", {})


def test_keys_that_start_with_keywords_are_plain_keys() -> None:
    document = {"android": 1, "order": 2, "in_office": True, "notes": "x", "nullable": False, "true_value": 3}
    text = "android == 1 AND order == 2 AND in_office == true AND notes == 'x' AND nullable == false"
    assert evaluate(text + " AND true_value == 3", document)


def test_keys_used_lists_every_dotted_path() -> None:
    expression = parse_expression(
        "task.language IN worker.languages AND (worker.skills HAS 'x' OR worker.level >= task.level)"
    )
    assert expression.keys_used() == {
        "task.language",
        "worker.languages",
        "worker.skills",
        "worker.level",
        "task.level",
    }
    assert parse_expression("1 == 1").keys_used() == set()
    assert parse_expression("object.array[2] == 'c'").keys_used() == {"object.array[2]"}


def test_key_references_carry_their_positions() -> None:
    references = parse_expression("a == 1 AND task.b == 2").key_references()
    assert [(key.path, key.position) for key in references] == [("a", 0), ("task.b", 11)]


def test_key_ref_parse_rejects_hyphens_and_accepts_indexes() -> None:
    assert KeyRef.parse("object.array[2].name").segments == ("object", "array", 2, "name")
    with pytest.raises(ValueError):
        KeyRef.parse("first-name")


# Operators ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("n == 5", True),
        ("n = 5", True),
        ("n != 5", False),
        ("n > 4", True),
        ("n > 5", False),
        ("n >= 5", True),
        ("n < 6", True),
        ("n < 5", False),
        ("n <= 5", True),
        ("s CONTAINS 'ell'", True),
        ("s CONTAINS 'xyz'", False),
        ("tags HAS 'vip'", True),
        ("tags HAS 'new'", False),
        ("s IN ['hello', 'bye']", True),
        ("s IN ['bye']", False),
        ("s NOT IN ['bye']", True),
        ("s NOT IN ['hello']", False),
    ],
)
def test_every_operator(text: str, expected: bool) -> None:
    assert evaluate(text, {"n": 5, "s": "hello", "tags": ["vip", "gold"]}) is expected


@pytest.mark.parametrize(
    "text",
    [
        "tags has 'vip'",
        "tags Has 'vip'",
        "s contains 'ell'",
        "s Contains 'ell'",
        "s in ['hello']",
        "s not in ['x']",
        "s Not In ['x']",
        "s NOT   IN ['x']",
        "n == 5 and s == 'hello'",
        "n == 0 or s == 'hello'",
        "n == 0 Or s == 'hello'",
        "x == NULL",
        "x == Null",
    ],
)
def test_keywords_are_case_insensitive(text: str) -> None:
    assert evaluate(text, {"n": 5, "s": "hello", "tags": ["vip"]})


def test_string_comparisons_are_case_sensitive() -> None:
    assert not evaluate("name == 'ann'", {"name": "Ann"})


def test_ordering_operators_compare_strings_lexicographically() -> None:
    assert evaluate("name < 'b'", {"name": "alice"})
    assert not evaluate("name > 'b'", {"name": "alice"})


def test_has_is_false_when_left_side_is_a_scalar() -> None:
    assert not evaluate("skills HAS 'support'", {"skills": "support"})


def test_in_is_false_when_right_side_is_a_scalar() -> None:
    assert not evaluate("language IN other", {"language": "en", "other": "en"})


def test_not_in_is_false_when_right_side_is_not_an_array() -> None:
    assert not evaluate("language NOT IN other", {"language": "en", "other": "fr"})
    assert not evaluate("language NOT IN missing", {"language": "en"})


def test_in_and_not_in_are_false_when_left_side_is_an_array() -> None:
    document = {"langs": ["en"]}
    assert not evaluate("langs IN ['en', 'fr']", document)
    assert not evaluate("langs NOT IN ['de']", document)


def test_missing_key_is_not_in_any_array() -> None:
    assert not evaluate("language IN ['en']", {})
    assert evaluate("language NOT IN ['en']", {})


def test_has_is_false_when_left_side_is_missing() -> None:
    assert not evaluate("skills HAS 'support'", {})


def test_scalar_operators_on_arrays_are_false() -> None:
    document = {"tags": ["a"], "other": ["a"]}
    for operator in ["==", "!=", ">", ">=", "<", "<=", "CONTAINS"]:
        assert not evaluate(f"tags {operator} other", document), operator
        assert not evaluate(f"tags {operator} 'a'", document), operator


def test_contains_requires_two_strings() -> None:
    assert not evaluate("n CONTAINS '1'", {"n": 10})
    assert not evaluate("tags CONTAINS 'a'", {"tags": ["a"]})
    assert not evaluate("s CONTAINS 1", {"s": "1"})


def test_objects_are_never_equal_to_anything() -> None:
    assert not evaluate("a == b", {"a": {"x": 1}, "b": {"x": 1}})


def test_int_and_float_compare_numerically() -> None:
    assert evaluate("level == 3", {"level": 3.0})
    assert evaluate("level > 2.5", {"level": 3})
    assert evaluate("level IN [1, 3.0]", {"level": 3})


def test_booleans_are_not_numbers() -> None:
    assert not evaluate("flag == 1", {"flag": True})
    assert not evaluate("flag > 0", {"flag": True})
    assert not evaluate("flag != 1", {"flag": True})
    assert not evaluate("flag IN [1]", {"flag": True})
    assert not evaluate("n == true", {"n": 1})


def test_type_mismatches_are_false_for_every_operator_and_never_raise() -> None:
    values: list[Any] = [None, True, 0, 1.5, "1", "", [], ["1"], [1, "a", None], {"k": 1}]
    operators = ["==", "!=", ">", ">=", "<", "<=", "CONTAINS", "HAS", "IN", "NOT IN"]
    for left, right in itertools.product(values, repeat=2):
        for operator in operators:
            result = evaluate(f"left {operator} right", {"left": left, "right": right})
            assert isinstance(result, bool)
            both_numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
            same_kind = both_numbers or type(left) is type(right)
            if operator in ("==", ">", ">=", "<", "<=") and not same_kind:
                assert result is False, (left, operator, right)


def test_evaluation_against_a_non_mapping_document_resolves_keys_to_null() -> None:
    expression = parse_expression("x == null")
    assert expression.evaluate([])  # type: ignore[arg-type]


def test_not_equal_is_the_negation_of_equal_for_same_typed_scalars() -> None:
    values = [0, 1, 2.5, "a", "b", True, False]
    for left, right in itertools.product(values, repeat=2):
        document = {"l": left, "r": right}
        comparable = type(left) is type(right) or all(isinstance(v, int | float) for v in (left, right))
        if comparable and not (isinstance(left, bool) ^ isinstance(right, bool)):
            assert evaluate("l != r", document) is not evaluate("l == r", document), (left, right)


def test_in_and_has_agree_with_each_other() -> None:
    arrays: list[list[Any]] = [[], ["a"], ["a", "b"], [1, 2.0], [True], [None]]
    scalars: list[Any] = ["a", "b", 1, 2, True, None]
    for array, scalar in itertools.product(arrays, scalars):
        document = {"array": array, "scalar": scalar}
        has = evaluate("array HAS scalar", document)
        assert evaluate("scalar IN array", document) is has
        assert evaluate("scalar NOT IN array", document) is (not has)


# Logic --------------------------------------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    # a OR (b AND c): with a true it holds regardless of b and c.
    assert evaluate("a == 1 OR b == 1 AND c == 1", {"a": 1, "b": 0, "c": 0})
    assert not evaluate("(a == 1 OR b == 1) AND c == 1", {"a": 1, "b": 0, "c": 0})


def test_precedence_matches_python_for_every_truth_assignment() -> None:
    for a, b, c in itertools.product([True, False], repeat=3):
        document = {"a": a, "b": b, "c": c}
        assert evaluate("a == true OR b == true AND c == true", document) is (a or (b and c))
        assert evaluate("a == true AND b == true OR c == true", document) is ((a and b) or c)
        assert evaluate("(a == true OR b == true) AND c == true", document) is ((a or b) and c)
        assert evaluate("a == true AND (b == true OR c == true)", document) is (a and (b or c))


def test_parentheses_can_nest() -> None:
    assert evaluate("((((x == 1))))", {"x": 1})
    assert evaluate("(x == 1 AND (y == 2 OR (z == 3)))", {"x": 1, "z": 3})


def test_constants_on_either_side() -> None:
    assert evaluate("'support' IN skills", {"skills": ["support"]})
    assert evaluate("5 < level", {"level": 6})


# Compiled expression objects ------------------------------------------------------------------------------


def test_parsed_expressions_are_cached_and_hashable() -> None:
    first = parse_expression("x == 1 AND y IN ['a']")
    assert parse_expression("x == 1 AND y IN ['a']") is first
    assert hash(first) == hash(Expression(source=first.source, root=first.root))
    assert first.source == "x == 1 AND y IN ['a']"
    assert str(first) == first.source


def test_expressions_are_immutable() -> None:
    expression = parse_expression("x == 1")
    with pytest.raises(AttributeError):
        expression.source = "y == 2"  # type: ignore[misc]


# Syntax errors ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "empty expression"),
        ("   ", 0, "empty expression"),
        ("skills HAZ 'x'", 7, "unexpected token 'HAZ'"),
        ("x == 1 HAZ 'a'", 7, "expected one of AND, OR, end of expression"),
        ("x == 'abc", 5, "unterminated string literal"),
        ('x == "abc', 5, "unterminated string literal"),
        ("x === 1", 4, "unexpected token '='"),
        ("x <> 1", 3, "unexpected token '>'"),
        ("x ~ 1", 2, "unexpected character '~'"),
        ("x == 1 y", 7, "unexpected token 'y'"),
        ("x == 1)", 6, "unexpected token ')'"),
        ("(x == 1", 7, "unexpected end of expression"),
        ("x ==", 4, "unexpected end of expression"),
        ("x ==   ", 7, "unexpected end of expression"),
        ("first-name == 'a'", 5, "hyphens are not supported"),
        ("x == 1 AND AND y == 2", 11, "unexpected token 'AND'"),
        ("x IN [1,", 8, "unexpected end of expression"),
        ("x IN [a]", 6, "unexpected token 'a'"),
        ("x", 1, "unexpected end of expression"),
        ("x == 1 == 2", 7, "unexpected token '=='"),
        ("x NOT CONTAINS 'a'", 2, "unexpected token 'NOT'"),
    ],
)
def test_syntax_errors_point_at_the_offending_position(text: str, position: int, fragment: str) -> None:
    error = syntax_error(text)
    assert error.position == position
    assert fragment in str(error)
    assert error.expression == text


def test_syntax_error_message_reads_like_twilio_with_a_caret_line() -> None:
    error = syntax_error("skills HAS 'x' HAZ 'y'")
    assert error.message == "unexpected token 'HAZ'; expected one of AND, OR, end of expression"
    assert str(error).splitlines() == [
        "Invalid expression at position 15: unexpected token 'HAZ'; expected one of AND, OR, end of expression",
        "  skills HAS 'x' HAZ 'y'",
        "                 ^",
    ]
    assert error.headline == str(error).splitlines()[0]
    assert (error.line, error.column) == (1, 16)


def test_syntax_error_reports_line_and_column_for_multiline_expressions() -> None:
    error = syntax_error("a == 1\nAND b c")
    assert (error.position, error.line, error.column) == (13, 2, 7)
    assert str(error).splitlines()[1:] == ["  AND b c", "        ^"]


def test_syntax_error_is_an_invalid_parameter() -> None:
    assert isinstance(syntax_error("x =="), InvalidParameter)


def test_deeply_nested_parentheses_are_rejected_not_crashing() -> None:
    deep = "(" * (MAX_NESTING_DEPTH + 1) + "x == 1" + ")" * (MAX_NESTING_DEPTH + 1)
    assert syntax_error(deep).position == MAX_NESTING_DEPTH
    ok = "(" * MAX_NESTING_DEPTH + "x == 1" + ")" * MAX_NESTING_DEPTH
    assert evaluate(ok, {"x": 1})


def test_long_flat_conjunctions_parse_and_evaluate() -> None:
    text = " AND ".join(f"k{i} == {i}" for i in range(500))
    assert evaluate(text, {f"k{i}": i for i in range(500)})


def test_garbage_never_escapes_as_anything_but_a_syntax_error() -> None:
    fragments = ["x", "==", "'a'", "(", ")", "AND", "OR", "[", "]", ",", "1", "HAS", "NOT IN", "-", "!", "\n"]
    for size in (1, 2, 3):
        for parts in itertools.product(fragments, repeat=size):
            text = " ".join(parts)
            try:
                expression = parse_expression(text)
            except ExpressionSyntaxError as error:
                assert 0 <= error.position <= len(text)
            else:
                assert isinstance(expression.evaluate({"x": 1}), bool)


# Exact error messages and their location ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("name == 'bob", 8, "unterminated string literal"),
        ('name == "bob', 8, "unterminated string literal"),
        ("first-name == 'bob'", 5, "unexpected character '-'; hyphens are not supported in keys"),
        ("first_-x == 1", 6, "unexpected character '-'; hyphens are not supported in keys"),
        ("a == -x", 5, "unexpected character '-'"),
        ("-a == 1", 0, "unexpected character '-'"),
        ("a == 1 #", 7, "unexpected character '#'"),
    ],
)
def test_lexical_errors_say_what_and_where(text: str, position: int, message: str) -> None:
    error = syntax_error(text)
    assert (error.message, error.position) == (message, position)
    assert error.headline == f"Invalid expression at position {position}: {message}"


def test_an_error_on_a_later_line_points_at_its_line_and_column() -> None:
    text = "a == 1 AND\n  b == 'x\nAND c == 2"
    error = syntax_error(text)
    assert (error.line, error.column, error.position) == (2, 8, 18)
    assert str(error) == f"{error.headline}\n    b == 'x\n         ^"
    first_line = syntax_error("a === 1\nAND b == 2")
    assert (first_line.line, first_line.column) == (1, 5)
    assert str(first_line).splitlines()[1:] == ["  a === 1", "      ^"]


def test_the_end_of_input_is_reported_after_the_text() -> None:
    error = syntax_error("a ==")
    assert error.position == 4 and error.message.startswith("unexpected end of expression")
    assert str(error).splitlines()[1:] == ["  a ==", "      ^"]


def test_too_deep_nesting_is_refused_at_the_parenthesis() -> None:
    from domain.routing.expressions import MAX_NESTING_DEPTH

    text = "(" * (MAX_NESTING_DEPTH + 1) + "a == 1" + ")" * (MAX_NESTING_DEPTH + 1)
    error = syntax_error(text)
    assert error.message == f"parentheses nested deeper than {MAX_NESTING_DEPTH} levels"
    assert error.position == MAX_NESTING_DEPTH
    ok = "(" * MAX_NESTING_DEPTH + "a == 1" + ")" * MAX_NESTING_DEPTH
    assert parse_expression(ok).evaluate({"a": 1})


@pytest.mark.parametrize(("text", "value"), [("1e3", 1000.0), ("2E2", 200.0), ("1.5", 1.5), ("12", 12)])
def test_number_literals_keep_their_kind(text: str, value: float) -> None:
    literal = parse_expression(f"x == {text}").root.right  # type: ignore[union-attr]
    assert literal.value == value and type(literal.value) is type(value)


def test_array_operators_need_exactly_one_array_side() -> None:
    assert evaluate("tags HAS 'a'", {"tags": ["a"]})
    assert not evaluate("tags HAS ['a']", {"tags": [["a"]]})
    assert evaluate("'a' IN tags", {"tags": ["a"]})
    assert not evaluate("tags IN other", {"tags": ["a"], "other": [["a"]]})
