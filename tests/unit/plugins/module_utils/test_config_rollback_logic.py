"""Key diff, restart detection, git output parsing, the shadow plan and the last-known-good tag's name."""

import subprocess

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _config_rollback as cr

BASE = {
    "engine": {"interval": "5m", "symbols": ["BTC", "ETH"], "lookback_bars": 200},
    "trade": {"leverage": 3, "allow_short": True},
}


def with_changes(**sections):
    doc = {k: dict(v) for k, v in BASE.items()}
    for section, values in sections.items():
        doc[section] = values if not isinstance(values, dict) else dict(doc.get(section, {}), **values)
    return doc


def test_identical_documents_have_no_changed_keys():
    assert cr.changed_keys(BASE, with_changes()) == []
    assert cr.changed_keys(None, None) == []


def test_nested_keys_are_dotted_and_sorted():
    new = with_changes(trade={"leverage": 5}, engine={"interval": "1m"})
    assert cr.changed_keys(BASE, new) == ["engine.interval", "trade.leverage"]


def test_lists_are_leaves_compared_whole():
    assert cr.changed_keys(BASE, with_changes(engine={"symbols": ["BTC", "ETH", "SOL"]})) == ["engine.symbols"]
    assert cr.changed_keys(BASE, with_changes(engine={"symbols": ["ETH", "BTC"]})) == ["engine.symbols"]


def test_added_and_removed_keys_are_changed_paths():
    added = with_changes(risk={"stop_loss_pct": 2.0}, trade={"max_open_positions": 3})
    assert cr.changed_keys(BASE, added) == ["risk", "trade.max_open_positions"]
    assert cr.changed_keys(added, BASE) == ["risk", "trade.max_open_positions"]


def test_a_mapping_replaced_by_a_scalar_is_the_path_itself():
    assert cr.changed_keys(BASE, with_changes(engine="5m")) == ["engine"]
    assert cr.changed_keys(with_changes(engine="5m"), BASE) == ["engine"]


def test_types_matter():
    assert cr.changed_keys({"a": 1}, {"a": 1.0}) == ["a"]
    assert cr.changed_keys({"a": 1}, {"a": True}) == ["a"]
    assert cr.changed_keys({"a": "5"}, {"a": 5}) == ["a"]
    assert cr.changed_keys({"a": [1]}, {"a": [True]}) == ["a"]


def test_empty_document_counts_as_empty_mapping():
    assert cr.changed_keys(None, {"engine": {"interval": "5m"}, "x": 1}) == ["engine", "x"]


@pytest.mark.parametrize(("old", "new", "keys"), [
    (["a"], ["b"], [""]), ("text", BASE, [""]), (BASE, 3, [""]), (["a"], ["a"], []),
])
def test_non_mapping_top_level_is_the_whole_document(old, new, keys):
    assert cr.changed_keys(old, new) == keys


@pytest.mark.parametrize(("changed", "matches"), [
    (["engine.interval"], ["engine.interval"]),  # the key itself
    (["engine"], ["engine"]),  # the whole mapping above it
    (["engine.interval.ms"], ["engine.interval.ms"]),  # below it
    (["engine.interval_x", "engine.symbols", "trade.leverage"], []),  # a prefix that is not a parent
    ([""], [""]),  # the whole document
    ([], []),
])
def test_restart_matches_parent_and_child_keys(changed, matches):
    assert cr.restart_matches(changed, ["engine.interval"]) == matches


def test_no_restart_keys_never_require_a_restart():
    assert cr.restart_matches(["engine.interval", ""], []) == []
    assert cr.restart_matches(["engine.interval"], None) == []


def test_parse_history():
    text = ("a" * 40 + "\x1f2025-11-20T14:03:11+01:00\x1fAda Lovelace\x1ffaster: interval 1m; see #12\x1e\n"
            + "b" * 40 + "\x1f2025-11-19T09:00:00+00:00\x1fBob\x1f\x1e\n")
    assert cr.parse_history(text) == [
        {"sha": "a" * 40, "date": "2025-11-20T14:03:11+01:00", "author": "Ada Lovelace", "subject": "faster: interval 1m; see #12"},
        {"sha": "b" * 40, "date": "2025-11-19T09:00:00+00:00", "author": "Bob", "subject": ""},
    ]
    assert cr.parse_history("") == []
    with pytest.raises(ValueError):
        cr.parse_history("garbage\x1e")


def test_parse_batch_check_and_newest_commit():
    names = ["c1:cfg.yaml", "c2:cfg.yaml", "c3:cfg.yaml"]
    out = "b1 blob 10\nc2:cfg.yaml missing\nb3 blob 12\n"
    blobs = cr.parse_batch_check(out, names)
    assert blobs == ["b1", None, "b3"]
    pairs = [("c1", blobs[0]), ("c2", blobs[1]), ("c3", blobs[2])]
    assert cr.newest_commit_with_blob(pairs, "b3") == "c3"
    assert cr.newest_commit_with_blob(pairs + [("c4", "b1")], "b1") == "c1"
    assert cr.newest_commit_with_blob(pairs, "zz") is None
    assert cr.newest_commit_with_blob(pairs, None) is None
    with pytest.raises(ValueError):
        cr.parse_batch_check("b1 blob 10\n", names)


def test_ls_files_and_index_restore_round_trip():
    text = "100644 " + "a" * 40 + " 0\tconfig/s.yaml\0"
    entries = cr.parse_ls_files_stage(text)
    assert entries == [("100644", "a" * 40, "0", "config/s.yaml")]
    data = cr.index_restore_data(entries, "config/s.yaml")
    assert data == "0 " + "0" * 40 + "\tconfig/s.yaml\0" + "100644 " + "a" * 40 + " 0\tconfig/s.yaml\0"
    assert cr.index_restore_data([], "x.yaml", 64) == "0 " + "0" * 64 + "\tx.yaml\0"


def test_shadow_plan_links_everything_but_the_way_to_the_config():
    tree = {"": [".git", "config", "tools", "README.md"], "config": ["strategy_overrides.yaml", "other.yaml"]}
    assert cr.shadow_plan("config/strategy_overrides.yaml", tree.__getitem__) == [
        ("link", ".git"), ("link", "README.md"), ("link", "tools"), ("dir", "config"),
        ("link", "config/other.yaml"), ("file", "config/strategy_overrides.yaml"),
    ]
    assert cr.shadow_plan("top.yaml", {"": ["a", "top.yaml"]}.__getitem__) == [("link", "a"), ("file", "top.yaml")]
    # a file missing on disk is still the candidate
    assert cr.shadow_plan("new.yaml", {"": ["a"]}.__getitem__) == [("link", "a"), ("file", "new.yaml")]


@pytest.mark.parametrize(("path", "norm"), [
    ("config/strategy_overrides.yaml", "config/strategy_overrides.yaml"),
    ("./config//strategy_overrides.yaml", "config/strategy_overrides.yaml"),
    ("config/../config/x.yaml", "config/x.yaml"),
])
def test_normalize_rel_path(path, norm):
    assert cr.normalize_rel_path(path) == norm


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../x", "config/../../x", "..", ".", ".git/config", "a/.git/HEAD"])
def test_normalize_rel_path_refuses(path):
    with pytest.raises(ValueError):
        cr.normalize_rel_path(path)


@pytest.mark.parametrize("value", ["", "  ", "--all", "-n1", "a\nb"])
def test_check_commitish_refuses_options(value):
    with pytest.raises(ValueError):
        cr.check_commitish(value)


@pytest.mark.parametrize("value", [" -x", "\t--all", "  --output=/tmp/x", " -n1 "])
def test_check_commitish_refuses_an_option_hidden_behind_blanks(value):
    """Finding 9 of issue 11: the '-' check runs on the stripped value, the one git gets."""
    with pytest.raises(ValueError, match="starts with '-'"):
        cr.check_commitish(value)


@pytest.mark.parametrize("path", ["-x.yaml", " -x.yaml", "\t--output=x", "./-x.yaml"])
def test_normalize_rel_path_refuses_an_option_like_path(path):
    with pytest.raises(ValueError, match="starts with '-'"):
        cr.normalize_rel_path(path)


@pytest.mark.parametrize(("value", "words"), [
    ("a" * 1000000, "at most 1024"),
    ("HEAD\nmain", "newline"),
])
def test_check_commitish_refuses_huge_and_multiline_refs_clearly(value, words):
    with pytest.raises(ValueError, match=words):
        cr.check_commitish(value)


@pytest.mark.parametrize(("value", "words"), [
    (["k%d" % i for i in range(100000)], "validate has 100000 items; at most 1000"),
    (["python3", "-c", "x" * 200000], "at most 131072"),
    ("python3 " + "x" * 200000, "at most 131072"),
    (["python3", "a\0b"], "NUL"),
])
def test_split_validate_refuses_huge_commands_clearly(value, words):
    with pytest.raises(ValueError, match=words):
        cr.split_validate(value)


@pytest.mark.parametrize(("value", "argv"), [
    ("uv run python tools/validate_config.py", ["uv", "run", "python", "tools/validate_config.py"]),
    ("python3 -c 'import sys; sys.exit(0)'", ["python3", "-c", "import sys; sys.exit(0)"]),
    (["python3", "tools/v.py", 3], ["python3", "tools/v.py", "3"]),
    (None, None), ("", None), ([], None),
])
def test_split_validate(value, argv):
    assert cr.split_validate(value) == argv


@pytest.mark.parametrize(("path", "name"), [
    ("config/strategy_overrides.yaml", "quantops/lkg/config%2Fstrategy_overrides.yaml"),
    (".env", "quantops/lkg/%2Eenv"),
    ("a..b/c.lock", "quantops/lkg/a%2E%2Eb%2Fc%2Elock"),
    ("cfg/my file~1.yaml", "quantops/lkg/cfg%2Fmy%20file%7E1.yaml"),
    ("x@{y}^:?*[\\%.", "quantops/lkg/x%40%7By%7D%5E%3A%3F%2A%5B%5C%25%2E"),
    ("café/a.yaml", "quantops/lkg/caf%C3%A9%2Fa.yaml"),
    ("./config//strategy_overrides.yaml", "quantops/lkg/config%2Fstrategy_overrides.yaml"),
])
def test_lkg_tag_name_encodes_what_git_refuses(path, name):
    assert cr.lkg_tag_name(path) == name


@pytest.mark.parametrize("path", [
    "config/strategy_overrides.yaml", ".hidden/.x.", "a..b/c.lock", "x@{y}^:?*[\\%.", "sp ace/\ttab.yaml", "@", "a/@",
    "..a/b..", "x.lock/y.lock", "a/.lock", "café/ü.yaml",
])
def test_lkg_tag_names_are_valid_refs(path):
    name = cr.lkg_tag_name(path)
    check = subprocess.run(["git", "check-ref-format", "refs/tags/" + name], check=False)
    assert check.returncode == 0, name


def test_lkg_tag_names_are_distinct():
    paths = ["a/b", "a%2Fb", "a.b", "a%2Eb", "a b", "a%20b"]
    assert len({cr.lkg_tag_name(p) for p in paths}) == len(paths)


def test_lkg_message():
    message = cr.lkg_message("config/s.yaml", "deploy 42 healthy", "c" * 40)
    assert message.startswith("last-known-good of config/s.yaml")
    assert "deploy 42 healthy" in message and ("Content matches commit %s." % ("c" * 40)) in message
    assert "matches no commit" in cr.lkg_message("config/s.yaml")


def test_validator_dirs_are_the_top_dirs_of_repo_scripts():
    files = {"tools/validate_config.py", "bin/check"}
    assert cr.validator_dirs(["uv", "run", "python", "tools/validate_config.py"], files.__contains__) == ["tools"]
    assert cr.validator_dirs(["python3", "./tools//validate_config.py", "--x", "/usr/bin/y", "bin/check"], files.__contains__) == ["tools", "bin"]
    assert cr.validator_dirs(["python3", "tools/missing.py", "../tools/validate_config.py"], files.__contains__) == []
    assert cr.validator_dirs(None, files.__contains__) == []
