"""TaskRouter expression language: a lark LALR grammar compiled to an immutable, never-raising AST.

Used for TaskQueue `target_workers`, Workflow filter/target expressions and `skip_if`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeAlias, cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from domain.errors import InvalidParameter

__all__ = [
    "MAX_NESTING_DEPTH",
    "And",
    "Comparison",
    "ConstantCondition",
    "Expression",
    "ExpressionSyntaxError",
    "KeyRef",
    "Literal",
    "Operator",
    "Or",
    "parse_expression",
]

# Parentheses deeper than this are refused at parse time so evaluation (recursive) can never hit the
# interpreter's recursion limit on hostile input.
MAX_NESTING_DEPTH = 64

_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
KEY_PATTERN = rf"{_IDENT}(?:\.{_IDENT}|\[[0-9]+\])*"
_KEY_RE = re.compile(rf"^{KEY_PATTERN}$")
_SEGMENT_RE = re.compile(rf"\.?({_IDENT})|\[([0-9]+)\]")

# Kept as a string (not a .lark file) so building the parser does no file I/O inside Temporal's sandbox.
# Keywords are regexes with priority 2 and a trailing \b: the basic lexer tries them before KEY, and the
# word boundary keeps keys such as `android`, `order` or `in_office` from being split.
_GRAMMAR = rf"""
?start: or_expr

?or_expr: and_expr (_OR and_expr)*
?and_expr: _atom (_AND _atom)*
_atom: comparison
     | _LPAR or_expr _RPAR
     | constant_condition

constant_condition: TRUE | FALSE

comparison: _operand comparator _operand
comparator: EQ | ASSIGN | NE | GE | GT | LE | LT | CONTAINS | HAS | IN | NOT_IN

_operand: value | array | key
?value: STRING -> string
      | NUMBER -> number
      | TRUE -> true
      | FALSE -> false
      | NULL -> null
array: _LSQB (value (_COMMA value)*)? _RSQB
key: KEY

_OR.2: /or\b/i
_AND.2: /and\b/i
NOT_IN.2: /not\s+in\b/i
IN.2: /in\b/i
HAS.2: /has\b/i
CONTAINS.2: /contains\b/i
TRUE.2: /true\b/i
FALSE.2: /false\b/i
NULL.2: /null\b/i

EQ: "=="
ASSIGN: "="
NE: "!="
GE: ">="
GT: ">"
LE: "<="
LT: "<"
_LPAR: "("
_RPAR: ")"
_LSQB: "["
_RSQB: "]"
_COMMA: ","

KEY: /{KEY_PATTERN}/
NUMBER: /-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/
STRING: /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/

%ignore /\s+/
"""

# Display names for lark terminals in "expected one of ..." messages, in the order they are listed.
_TERMINAL_DISPLAY: dict[str, str] = {
    "_AND": "AND",
    "_OR": "OR",
    "EQ": "'=='",
    "ASSIGN": "'='",
    "NE": "'!='",
    "GT": "'>'",
    "GE": "'>='",
    "LT": "'<'",
    "LE": "'<='",
    "CONTAINS": "CONTAINS",
    "HAS": "HAS",
    "IN": "IN",
    "NOT_IN": "NOT IN",
    "KEY": "a key",
    "STRING": "a string",
    "NUMBER": "a number",
    "TRUE": "true",
    "FALSE": "false",
    "NULL": "null",
    "_LSQB": "'['",
    "_RSQB": "']'",
    "_COMMA": "','",
    "_LPAR": "'('",
    "_RPAR": "')'",
    "$END": "end of expression",
}
_TERMINAL_ORDER = {name: index for index, name in enumerate(_TERMINAL_DISPLAY)}


class Operator(StrEnum):
    EQ = "=="
    NE = "!="
    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="
    CONTAINS = "CONTAINS"
    HAS = "HAS"
    IN = "IN"
    NOT_IN = "NOT IN"


_TOKEN_OPERATORS: dict[str, Operator] = {
    "EQ": Operator.EQ,
    "ASSIGN": Operator.EQ,
    "NE": Operator.NE,
    "GT": Operator.GT,
    "GE": Operator.GE,
    "LT": Operator.LT,
    "LE": Operator.LE,
    "CONTAINS": Operator.CONTAINS,
    "HAS": Operator.HAS,
    "IN": Operator.IN,
    "NOT_IN": Operator.NOT_IN,
}

Scalar: TypeAlias = str | int | float | bool | None
# Array literals are tuples so the whole AST stays hashable.
LiteralValue: TypeAlias = Scalar | tuple[Scalar, ...]


class ExpressionSyntaxError(InvalidParameter):
    """An expression that does not parse; `position` is a 0-based offset, `line`/`column` are 1-based."""

    def __init__(self, message: str, *, expression: str, position: int) -> None:
        self.expression = expression
        self.position = position
        self.line = expression.count("\n", 0, position) + 1
        self.column = position - (expression.rfind("\n", 0, position) + 1) + 1
        super().__init__(self.headline_for(message, position))
        # ParleyError stores the full sentence; the contract here is the bare reason, with the location
        # available separately (headline / str()).
        self.message = message

    @staticmethod
    def headline_for(message: str, position: int) -> str:
        return f"Invalid expression at position {position}: {message}"

    @property
    def headline(self) -> str:
        """Single-line form, for API error bodies and configuration error paths."""
        return self.headline_for(self.message, self.position)

    def __str__(self) -> str:
        line_start = self.expression.rfind("\n", 0, self.position) + 1
        line_end = self.expression.find("\n", self.position)
        source_line = self.expression[line_start : line_end if line_end != -1 else None]
        return f"{self.headline}\n  {source_line}\n  {' ' * (self.column - 1)}^"


# ---------------------------------------------------------------------------------------------------------
# Values and comparison semantics. Every helper is total: type mismatches yield False, never an exception.


def _is_number(value: object) -> bool:
    # bool is an int subclass in Python but not a number in TaskRouter expressions.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_array(value: object) -> bool:
    return isinstance(value, list | tuple)


def _same_scalar_kind(left: object, right: object) -> bool:
    if _is_number(left) and _is_number(right):
        return True
    if isinstance(left, bool) and isinstance(right, bool):
        return True
    return isinstance(left, str) and isinstance(right, str)


def _equal(left: object, right: object) -> bool:
    if left is None or right is None:
        return left is None and right is None
    return _same_scalar_kind(left, right) and left == right


def _not_equal(left: object, right: object) -> bool:
    if left is None or right is None:
        # Comparing with null is a presence test: `x != null` is true exactly when x is present.
        return (left is None) != (right is None)
    return _same_scalar_kind(left, right) and left != right


def _ordered(left: object, right: object) -> bool:
    return (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str))


def _member(value: object, array: Sequence[object]) -> bool:
    return any(_equal(value, item) for item in array)


def _compare(operator: Operator, left: Any, right: Any) -> bool:
    match operator:
        case Operator.EQ:
            return _equal(left, right)
        case Operator.NE:
            return _not_equal(left, right)
        case Operator.GT:
            return _ordered(left, right) and left > right
        case Operator.GE:
            return _ordered(left, right) and left >= right
        case Operator.LT:
            return _ordered(left, right) and left < right
        case Operator.LE:
            return _ordered(left, right) and left <= right
        case Operator.CONTAINS:
            return isinstance(left, str) and isinstance(right, str) and right in left
        case Operator.HAS:
            return _is_array(left) and not _is_array(right) and _member(right, left)
        case Operator.IN:
            return _is_array(right) and not _is_array(left) and _member(left, right)
        case Operator.NOT_IN:
            return _is_array(right) and not _is_array(left) and not _member(left, right)
    return False  # pragma: no cover - exhaustive match


# ---------------------------------------------------------------------------------------------------------
# AST


@dataclass(frozen=True, slots=True)
class KeyRef:
    """A JSON key path such as `object.array[2].name`; resolves to None (NULL) when any step is missing."""

    path: str
    segments: tuple[str | int, ...]
    position: int = field(default=0, compare=False)

    @classmethod
    def parse(cls, path: str, position: int = 0) -> KeyRef:
        """Parse a bare key path; raises ValueError for anything that is not one."""
        if not _KEY_RE.match(path):
            raise ValueError(f"{path!r} is not a valid key")
        segments: list[str | int] = []
        for match in _SEGMENT_RE.finditer(path):
            name, index = match.groups()
            segments.append(name if name is not None else int(index))
        return cls(path=path, segments=tuple(segments), position=position)

    @property
    def root(self) -> str:
        return str(self.segments[0])

    def resolve(self, document: object) -> Any:
        current: Any = document
        for segment in self.segments:
            if isinstance(segment, int):
                if not isinstance(current, list | tuple) or segment >= len(current):
                    return None
                current = current[segment]
            else:
                if not isinstance(current, Mapping) or segment not in current:
                    return None
                current = current[segment]
        return current

    def evaluate(self, document: Mapping[str, Any]) -> Any:
        return self.resolve(document)


@dataclass(frozen=True, slots=True)
class Literal:
    value: LiteralValue

    def evaluate(self, document: Mapping[str, Any]) -> LiteralValue:
        return self.value


Operand: TypeAlias = KeyRef | Literal


@dataclass(frozen=True, slots=True)
class Comparison:
    left: Operand
    operator: Operator
    right: Operand

    def evaluate(self, document: Mapping[str, Any]) -> bool:
        return _compare(self.operator, self.left.evaluate(document), self.right.evaluate(document))

    def keys(self) -> Iterator[KeyRef]:
        for operand in (self.left, self.right):
            if isinstance(operand, KeyRef):
                yield operand


@dataclass(frozen=True, slots=True)
class ConstantCondition:
    """A bare `true` / `false` used as a whole condition."""

    value: bool

    def evaluate(self, document: Mapping[str, Any]) -> bool:
        return self.value

    def keys(self) -> Iterator[KeyRef]:
        return iter(())


@dataclass(frozen=True, slots=True)
class And:
    operands: tuple[Condition, ...]

    def evaluate(self, document: Mapping[str, Any]) -> bool:
        return all(operand.evaluate(document) for operand in self.operands)

    def keys(self) -> Iterator[KeyRef]:
        for operand in self.operands:
            yield from operand.keys()


@dataclass(frozen=True, slots=True)
class Or:
    operands: tuple[Condition, ...]

    def evaluate(self, document: Mapping[str, Any]) -> bool:
        return any(operand.evaluate(document) for operand in self.operands)

    def keys(self) -> Iterator[KeyRef]:
        for operand in self.operands:
            yield from operand.keys()


Condition: TypeAlias = Comparison | ConstantCondition | And | Or


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled expression; immutable and hashable, so one instance is shared by every evaluation."""

    source: str
    root: Condition

    def evaluate(self, document: Mapping[str, Any]) -> bool:
        """Evaluate against a JSON document (or a context such as {"task": ..., "worker": ...})."""
        return bool(self.root.evaluate(document))

    def key_references(self) -> tuple[KeyRef, ...]:
        """Every key occurrence, in source order, with its position (for validation messages)."""
        return tuple(self.root.keys())

    def keys_used(self) -> frozenset[str]:
        return frozenset(key.path for key in self.root.keys())

    def __str__(self) -> str:
        return self.source


# ---------------------------------------------------------------------------------------------------------
# Parsing


_ESCAPE_RE = re.compile(r"\\(.)")


def _unquote(token: str) -> str:
    # Only the quote characters and the backslash itself are escapable; other backslashes stay literal.
    body = token[1:-1]
    return _ESCAPE_RE.sub(lambda m: m.group(1) if m.group(1) in "'\"\\" else m.group(0), body)


class _AstBuilder(Transformer[Token, Any]):
    """Runs inside the LALR parser (bottom-up, no recursion), turning reductions straight into AST nodes."""

    def or_expr(self, children: list[Condition]) -> Or:
        return Or(tuple(children))

    def and_expr(self, children: list[Condition]) -> And:
        return And(tuple(children))

    def comparison(self, children: list[Any]) -> Comparison:
        left, operator, right = children
        return Comparison(left=left, operator=operator, right=right)

    def comparator(self, children: list[Token]) -> Operator:
        return _TOKEN_OPERATORS[children[0].type]

    def constant_condition(self, children: list[Token]) -> ConstantCondition:
        return ConstantCondition(children[0].type == "TRUE")

    def string(self, children: list[Token]) -> Literal:
        return Literal(_unquote(str(children[0])))

    def number(self, children: list[Token]) -> Literal:
        text = str(children[0])
        if any(marker in text for marker in ".eE"):
            return Literal(float(text))
        return Literal(int(text))

    def true(self, children: list[Token]) -> Literal:
        return Literal(True)

    def false(self, children: list[Token]) -> Literal:
        return Literal(False)

    def null(self, children: list[Token]) -> Literal:
        return Literal(None)

    def array(self, children: list[Literal]) -> Literal:
        # The grammar only admits scalar constants inside array literals.
        return Literal(tuple(cast(Scalar, child.value) for child in children))

    def key(self, children: list[Token]) -> KeyRef:
        token = children[0]
        return KeyRef.parse(str(token), position=token.start_pos or 0)


@functools.cache
def _parser() -> Lark:
    # Built on first use rather than at import: keeps imports cheap (and sandbox re-imports cheap).
    return Lark(
        _GRAMMAR,
        parser="lalr",
        lexer="basic",
        transformer=_AstBuilder(),
        maybe_placeholders=False,
        cache=False,
    )


def _accepted_terminals(error: UnexpectedToken) -> set[str]:
    # LALR state merging makes `error.expected` a superset (e.g. ']' after a top-level number); replaying
    # the interactive parser yields only the terminals that can really continue this input.
    interactive = error.interactive_parser
    if interactive is not None:
        return set(interactive.accepts())
    return set(error.expected)


def _describe_expected(expected: set[str]) -> str:
    names = sorted(
        (name for name in expected if name in _TERMINAL_DISPLAY),
        key=lambda name: _TERMINAL_ORDER[name],
    )
    labels = list(dict.fromkeys(_TERMINAL_DISPLAY[name] for name in names))
    if not labels:
        return ""
    if len(labels) == 1:
        return f"; expected {labels[0]}"
    return f"; expected one of {', '.join(labels)}"


def _syntax_error(text: str, error: UnexpectedInput) -> ExpressionSyntaxError:
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        if char in ("'", '"'):
            message = "unterminated string literal"
        elif char == "-" and position > 0 and (text[position - 1].isalnum() or text[position - 1] == "_"):
            message = "unexpected character '-'; hyphens are not supported in keys"
        else:
            message = f"unexpected character {char!r}"
        return ExpressionSyntaxError(message, expression=text, position=position)
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        token = error.token
        position = token.start_pos if token.start_pos is not None else len(text)
        message = f"unexpected token {str(token)!r}{_describe_expected(_accepted_terminals(error))}"
        return ExpressionSyntaxError(message, expression=text, position=position)
    if isinstance(error, UnexpectedToken):
        expected = _accepted_terminals(error)
    elif isinstance(error, UnexpectedEOF):
        expected = set(error.expected)
    else:
        expected = set()
    # lark borrows the last token's position for end-of-input; the caret belongs after the text.
    message = f"unexpected end of expression{_describe_expected(expected)}"
    return ExpressionSyntaxError(message, expression=text, position=len(text))


def _check_nesting(text: str) -> None:
    depth = 0
    for token in _parser().lex(text):
        if token.type == "_LPAR":
            depth += 1
            if depth > MAX_NESTING_DEPTH:
                raise ExpressionSyntaxError(
                    f"parentheses nested deeper than {MAX_NESTING_DEPTH} levels",
                    expression=text,
                    position=token.start_pos or 0,
                )
        elif token.type == "_RPAR":
            depth -= 1


@functools.lru_cache(maxsize=4096)
def parse_expression(text: str) -> Expression:
    """Compile an expression; cached on the text because one queue expression is evaluated per worker."""
    if not isinstance(text, str):
        raise ExpressionSyntaxError("expression must be a string", expression="", position=0)
    if not text.strip():
        raise ExpressionSyntaxError("empty expression", expression=text, position=0)
    try:
        _check_nesting(text)
        root = cast(Condition, _parser().parse(text))
    except UnexpectedInput as error:
        raise _syntax_error(text, error) from None
    return Expression(source=text, root=root)
