"""module_utils._validate, the checks every module runs on its options before it reads or changes anything."""

import json

import pytest
from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.testing import patch_module_args
from ansible_collections.quantops.runbooks.plugins.module_utils import _validate as v

SECONDS = v.Range(0, 3600, "seconds")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), -1, 3600.5, 10 ** 30, True, "5", None])
def test_range_refuses_what_is_not_a_finite_number_inside_it(value):
    if value is None:
        assert SECONDS.check("verify_timeout", value) is None  # not set: nothing to check
        return
    with pytest.raises(v.InvalidInput) as info:
        SECONDS.check("verify_timeout", value)
    assert str(info.value).startswith("verify_timeout must be a finite number from 0 to 3600 (seconds), not ")


def test_range_bounds_and_kinds():
    assert SECONDS.check("t", 0) == 0 and SECONDS.check("t", 3600.0) == 3600.0
    above = v.Range(0, 10, "hours", above=True)
    with pytest.raises(v.InvalidInput, match="above 0 to 10"):
        above.check("lookback_hours", 0)
    whole = v.Range(1, 5, integer=True)
    assert whole.check("n", 5.0) == 5 and isinstance(whole.check("n", 5.0), int)
    with pytest.raises(v.InvalidInput, match="n must be a whole number from 1 to 5, not 2.5"):
        whole.check("n", 2.5)


@pytest.mark.parametrize(("value", "words"), [
    ("", "is empty"), ("  ", "is empty"), ("/tmp/a\nb", "holds a newline"), ("/tmp/a\rb", "carriage return"),
    ("/tmp/a\0b", "NUL byte"), ("/" + "x" * 5000, "at most 4096"), ("kill", "is relative"), ("/tmp/../etc/x", "'..' component"),
])
def test_path_refuses(value, words):
    with pytest.raises(v.InvalidInput, match=words):
        v.Path(absolute=True, dotdot=False).check("path", value)


def test_path_refuses_a_directory_when_a_file_is_wanted(tmp_path):
    with pytest.raises(v.InvalidInput, match="is a directory"):
        v.Path(file=True).check("path", str(tmp_path))
    assert v.Path(file=True).check("path", str(tmp_path / "kill")) == str(tmp_path / "kill")


def test_text_items_regex():
    assert v.Text(multiline=True).check("note", "a\nb\tc") == "a\nb\tc"
    with pytest.raises(v.InvalidInput, match="note is 10001 characters long; at most 10000"):
        v.Text(max_length=10000).check("note", "n" * 10001)
    with pytest.raises(v.InvalidInput, match="units has 100000 items; at most 100"):
        v.Items(max_items=100).check("units", ["u"] * 100000)
    with pytest.raises(v.InvalidInput, match="paths must have at least 1 item, it has 0"):
        v.Items(min_items=1).check("paths", [])
    with pytest.raises(v.InvalidInput, match="not a valid Python regular expression"):
        v.regex("heartbeat_pattern", "(")


def test_check_fails_the_task_with_the_first_bad_option(capsys):
    with patch_module_args(dict(timeout="nan", path="/tmp/x\ny")), pytest.raises(SystemExit):
        module = AnsibleModule(argument_spec=dict(timeout=dict(type="float"), path=dict(type="path")))
        v.check(module, numbers=dict(timeout=SECONDS), paths=dict(path=v.Path()))
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] and not result["changed"]
    assert result["msg"] == "timeout must be a finite number from 0 to 3600 (seconds), not nan"
