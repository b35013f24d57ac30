"""Merge Patch (RFC 7396) and JSON Patch (RFC 6902) as clients use them on records."""

import pytest

from chalicelib.domain.errors import ValidationFailed
from chalicelib.domain.patching import json_patch, merge_patch, touched_fields

DOC = {"title": "a", "tags": ["x"], "share": {"users": ["u"], "groups": []}, "ref_id": "r"}


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        pytest.param({"title": "b"}, {**DOC, "title": "b"}, id="replace a field"),
        pytest.param({"ref_id": None}, {k: v for k, v in DOC.items() if k != "ref_id"}, id="null removes"),
        pytest.param(
            {"share": {"groups": ["g"]}},
            {**DOC, "share": {"users": ["u"], "groups": ["g"]}},
            id="objects merge recursively",
        ),
        pytest.param({"tags": ["y"]}, {**DOC, "tags": ["y"]}, id="arrays are replaced whole"),
        pytest.param({}, DOC, id="empty patch changes nothing"),
    ],
)
def test_merge_patch(patch, expected):
    assert merge_patch(DOC, patch) == expected


def test_merge_patch_leaves_the_original_alone():
    before = {"share": {"users": ["u"]}}
    merge_patch(before, {"share": {"users": ["v"]}})
    assert before == {"share": {"users": ["u"]}}


@pytest.mark.parametrize(
    ("ops", "pointer"),
    [
        pytest.param({"op": "replace"}, "", id="not an array"),
        pytest.param([{"op": "replace", "value": 1}], "/0", id="operation without path"),
        pytest.param(
            [{"op": "replace", "path": "/title", "value": "b"}, {"op": "remove", "path": "/nope"}],
            "/1",
            id="second operation fails: pointer names it",
        ),
        pytest.param([{"op": "test", "path": "/title", "value": "zzz"}], "/0", id="failed test"),
        pytest.param([{"op": "frobnicate", "path": "/title"}], "/0", id="unknown op"),
    ],
)
def test_json_patch_errors_point_at_the_operation(ops, pointer):
    with pytest.raises(ValidationFailed) as caught:
        json_patch(DOC, ops)
    assert caught.value.errors[0].pointer == pointer


def test_json_patch_applies_in_order():
    result = json_patch(
        DOC,
        [
            {"op": "test", "path": "/title", "value": "a"},
            {"op": "add", "path": "/tags/-", "value": "y"},
            {"op": "remove", "path": "/ref_id"},
            {"op": "replace", "path": "/title", "value": "b"},
        ],
    )
    assert result == {"title": "b", "tags": ["x", "y"], "share": DOC["share"]}


@pytest.mark.parametrize(
    ("document", "merge", "fields"),
    [
        pytest.param({"state": "live", "title": "x"}, True, {"state", "title"}, id="merge: top-level keys"),
        pytest.param([{"op": "replace", "path": "/state", "value": 1}], False, {"state"}, id="json: path"),
        pytest.param(
            [{"op": "move", "from": "/id", "path": "/ref_id"}],
            False,
            {"id", "ref_id"},
            id="json: from counts too",
        ),
        pytest.param([{"op": "add", "path": "/a~1b", "value": 1}], False, {"a/b"}, id="escaped pointer"),
    ],
)
def test_touched_fields(document, merge, fields):
    assert touched_fields(document, merge) == fields
