"""env_names_diff: names only, never a value."""

from ansible_collections.quantops.runbooks.plugins.filter.env import env_names_diff
from ansible_collections.quantops.runbooks.plugins.module_utils._trader import parse_env_file


def test_names_added_removed_and_changed_without_values():
    before = '# managed\nAI_QUANT_A="1"\nHL_SECRET="old-secret"\nGONE="x"\nQUOTED="a \\"b\\" c"\n'
    result = env_names_diff(before, {"AI_QUANT_A": 1, "HL_SECRET": "new-secret", "NEW": "y", "QUOTED": 'a "b" c'})
    assert result == {"added": ["NEW"], "removed": ["GONE"], "changed": ["HL_SECRET"]}
    assert "secret" not in repr(result)


def test_a_missing_file_adds_everything():
    assert env_names_diff("", {"B": "1", "A": "2"}) == {"added": ["A", "B"], "removed": [], "changed": []}


def test_parse_skips_comments_and_reads_plain_values():
    assert parse_env_file("#X=1\nexport Y=2\nZ='q'\n") == {"Y": "2", "Z": "q"}


def test_an_env_file_value_keeps_its_spaces_unless_quoted():
    """systemd reads NAME=value lines whole: a kill file path with a space is one value, not two words."""
    assert parse_env_file('AI_QUANT_KILL_SWITCH_FILE=/run/my kill\n; comment\nB="x \\"y\\""\n') == {
        "AI_QUANT_KILL_SWITCH_FILE": "/run/my kill", "B": 'x "y"'}
