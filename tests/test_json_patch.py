"""ecsforge.json_patch: RFC 6902 (JSON Patch) and RFC 6901 (JSON Pointer), checked against the
RFCs' own examples and against the `jsonpatch` package (a development dependency only)."""

from __future__ import annotations

import copy
import random
from typing import Any

import jsonpatch
import pytest

from ecsforge.json_patch import Operation, PatchFailure, apply, apply_one, equal, parse, pointer


def patched(document: Any, *operations: dict[str, Any]) -> Any:
    result, failures = apply(document, [_operation(o) for o in operations])
    assert failures == [], [f.message for _, f in failures]
    return result


def failure(document: Any, *operations: dict[str, Any]) -> PatchFailure:
    _, failures = apply(document, [_operation(o) for o in operations])
    assert len(failures) == 1
    return failures[0][1]


def _operation(raw: dict[str, Any]) -> Operation:
    return Operation(raw["op"], raw["path"], raw.get("value"), raw.get("from"))


# RFC 6902, Appendix A: (document, patch, result); None where the RFC says the patch fails.
APPENDIX_A = {
    "A.1 add an object member": (
        {"foo": "bar"},
        [{"op": "add", "path": "/baz", "value": "qux"}],
        {"baz": "qux", "foo": "bar"},
    ),
    "A.2 add an array element": (
        {"foo": ["bar", "baz"]},
        [{"op": "add", "path": "/foo/1", "value": "qux"}],
        {"foo": ["bar", "qux", "baz"]},
    ),
    "A.3 remove an object member": ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
    "A.4 remove an array element": (
        {"foo": ["bar", "qux", "baz"]},
        [{"op": "remove", "path": "/foo/1"}],
        {"foo": ["bar", "baz"]},
    ),
    "A.5 replace a value": (
        {"baz": "qux", "foo": "bar"},
        [{"op": "replace", "path": "/baz", "value": "boo"}],
        {"baz": "boo", "foo": "bar"},
    ),
    "A.6 move a value": (
        {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
        [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
        {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
    ),
    "A.7 move an array element": (
        {"foo": ["all", "grass", "cows", "eat"]},
        [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
        {"foo": ["all", "cows", "eat", "grass"]},
    ),
    "A.8 test a value: success": (
        {"baz": "qux", "foo": ["a", 2, "c"]},
        [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
        {"baz": "qux", "foo": ["a", 2, "c"]},
    ),
    "A.9 test a value: error": ({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}], None),
    "A.10 add a nested member object": (
        {"foo": "bar"},
        [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
        {"foo": "bar", "child": {"grandchild": {}}},
    ),
    "A.12 add to a nonexistent target": ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}], None),
    "A.14 ~ escape ordering": ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
    "A.15 comparing strings and numbers": ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}], None),
    "A.16 adding an array value": (
        {"foo": ["bar"]},
        [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
        {"foo": ["bar", ["abc", "def"]]},
    ),
}


@pytest.mark.parametrize("case", APPENDIX_A)
def test_rfc_6902_appendix_a(case):
    document, patch, expected = APPENDIX_A[case]
    before = copy.deepcopy(document)
    result, failures = apply(document, [_operation(o) for o in patch])
    assert document == before  # the caller's document is never changed
    if expected is None:
        assert len(failures) == 1
    else:
        assert failures == [] and result == expected


def test_rfc_6901_pointers():
    document = {"foo": ["bar", "baz"], "": 0, "a/b": 1, "c%d": 2, "e^f": 3, "g|h": 4, "i\\j": 5, 'k"l': 6, " ": 7}
    document["m~n"] = 8
    expected = {"/foo": ["bar", "baz"], "/foo/0": "bar", "/": 0, "/a~1b": 1, "/c%d": 2, "/e^f": 3, "/g|h": 4}
    expected |= {"/i\\j": 5, '/k"l': 6, "/ ": 7, "/m~0n": 8}
    for text, value in expected.items():
        assert patched(document, {"op": "test", "path": text, "value": value}) == document
        assert pointer(parse(text)) == text
    assert parse("") == []


@pytest.mark.parametrize("text", ["Resources/X", "/a~2b", "/a~"])
def test_malformed_pointers_are_rejected(text):
    with pytest.raises(ValueError):
        parse(text)


def test_json_equality_of_test():
    assert equal(1, 1.0) and equal({"a": [1, {"b": None}]}, {"a": [1.0, {"b": None}]})
    assert not equal(True, 1) and not equal(0, False) and not equal("10", 10)
    assert not equal({"a": 1}, {"a": 1, "b": 2}) and not equal([1], [1, 1])


def test_every_failure_is_reported_and_the_others_still_apply():
    document = {"Resources": {"Service9571FDD8": {"Properties": {"HealthCheckGracePeriodSeconds": 60}}}}
    operations = [
        Operation("replace", "/Resources/Service9571FDD8/Properties/HealthCheckGracePeriodSecond", 120),
        Operation("add", "/Resources/Service9571FDD8/Properties/AvailabilityZoneRebalancing", "ENABLED"),
        Operation("remove", "/Resources/Service12345678"),
    ]
    result, failures = apply(document, operations)
    assert [index for index, _ in failures] == [0, 2]
    assert result["Resources"]["Service9571FDD8"]["Properties"]["AvailabilityZoneRebalancing"] == "ENABLED"
    # The nearest existing path: a close key, or for a logical ID whose hash changed, the same name.
    assert failures[0][1].message.endswith(
        "nearest existing path: /Resources/Service9571FDD8/Properties/HealthCheckGracePeriodSeconds"
    )
    assert failures[1][1].message.endswith("nearest existing path: /Resources/Service9571FDD8")


def test_failure_messages_name_the_member_and_what_exists():
    document = {"Resources": {"A": {"Properties": {"List": [1, 2]}}}, "Outputs": {}}
    gone = failure(document, {"op": "copy", "from": "/Outputs/Name", "path": "/Outputs/Other"})
    assert gone.member == "from"
    assert gone.message == "/Outputs has no 'Name'; nearest existing path: /Outputs (it has nothing)"
    index = failure(document, {"op": "replace", "path": "/Resources/A/Properties/List/2", "value": 3})
    assert index.member == "path" and "an array of 2 item(s), indexed 0 to 1: it has no '2'" in index.message
    leading_zero = failure(document, {"op": "remove", "path": "/Resources/A/Properties/List/01"})
    assert "it has no '01'" in leading_zero.message
    beyond = failure(document, {"op": "add", "path": "/Resources/A/Properties/List/3", "value": 3})
    assert "add at 0 to 2, or - to append" in beyond.message
    scalar = failure(document, {"op": "add", "path": "/Resources/A/Properties/List/0/X", "value": 3})
    assert scalar.message == "/Resources/A/Properties/List/0 is 1, which takes no member"
    mismatch = failure(document, {"op": "test", "path": "/Resources/A/Properties/List", "value": [1]})
    assert mismatch.member == "value" and mismatch.message == "the value there is [1, 2], not [1]"
    into_itself = failure(document, {"op": "move", "from": "/Resources/A", "path": "/Resources/A/B"})
    assert into_itself.member == "from"


def test_values_are_copied_not_shared():
    value = {"Name": "nofile"}
    result = apply_one({"a": []}, Operation("add", "/a/-", value))
    value["Name"] = "changed"
    assert result == {"a": [{"Name": "nofile"}]}
    copied = apply_one({"a": {"b": [1]}}, Operation("copy", "/c", from_="/a"))
    copied["c"]["b"].append(2)
    assert copied["a"] == {"b": [1]}


def _random_operation(rng: random.Random, document: Any) -> dict[str, Any]:
    paths = ["/a", "/a/0", "/a/1", "/a/-", "/b", "/b/c", "/b/d", "/e", "/a/5", "/b/c/x"]
    op = rng.choice(["add", "remove", "replace", "move", "copy", "test"])
    raw: dict[str, Any] = {"op": op, "path": rng.choice(paths)}
    if op in ("add", "replace", "test"):
        raw["value"] = rng.choice([1, "x", [1, 2], {"c": 1}, None, True])
    if op in ("move", "copy"):
        raw["from"] = rng.choice(paths)
    return raw


def test_agrees_with_the_jsonpatch_package():
    """The same outcome as `jsonpatch` (the reference implementation in Python) on random patches."""
    rng = random.Random(6902)
    compared = 0
    for _ in range(3000):
        document = {"a": [1, 2], "b": {"c": [3], "d": "x"}}
        raw = _random_operation(rng, document)
        try:
            expected = jsonpatch.apply_patch(document, [raw])
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException):
            expected = None
        result, failures = apply(document, [_operation(raw)])
        assert (None if failures else result) == expected, raw
        compared += expected is not None
    assert compared > 500  # most random operations applied, not only failed
