from __future__ import annotations

import pytest

from pipelines.core.errors import UsageError
from pipelines.core.jsonargs import loads, parse_object, parse_tags


def test_objects() -> None:
    assert parse_object(None, "--kwargs") == {} and parse_object("  ", "--kwargs") == {}
    assert parse_object('{"a": 1}', "--kwargs") == {"a": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{'a': 1}", "--kwargs: not valid JSON (Expecting property name enclosed in double quotes at line 1 column 2)"),
        ("[1, 2]", "--kwargs: expected a JSON object"),
    ],
)
def test_bad_objects(text: str, message: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_object(text, "--kwargs")
    assert message in str(exc.value)


def test_tags_in_both_forms() -> None:
    assert parse_tags('{"team": "risk"}') == [{"Key": "team", "Value": "risk"}]
    assert parse_tags('[{"Key": "team", "Value": "risk"}]') == [{"Key": "team", "Value": "risk"}]
    assert parse_tags(None) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"Key": "", "Value": "v"}]', "--tags[0].Key: a string of 1 to 128 characters"),
        ('{"k": 3}', "--tags[0].Value (k): a string of at most 256 characters, got 3"),
        ('"x"', "--tags: expected"),
    ],
)
def test_bad_tags(text: str, message: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_tags(text)
    assert message in str(exc.value)


@pytest.mark.parametrize("depth", [100_000, 101])
def test_nesting_deeper_than_any_definition_needs_is_one_line(depth: int) -> None:
    # 100,000 brackets exhaust the parser's recursion; 101 parse, but would be walked next.
    with pytest.raises(UsageError) as exc:
        loads("[" * depth + "]" * depth, "pipeline.json")
    assert str(exc.value).startswith("pipeline.json: arrays or objects nested more than 100 deep")


def test_nesting_up_to_the_limit_is_read() -> None:
    assert loads('{"a": ' * 99 + "1" + "}" * 99, "x")["a"]["a"]["a"]
