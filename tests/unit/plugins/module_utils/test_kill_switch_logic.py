"""Mode ordering, the kill file's bytes, the drop-in, and the never-relax decision."""

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _kill_switch as ks


@pytest.mark.parametrize(("text", "mode"), [
    (None, "off"), ("", "off"), ("close_only", "close_only"), ("HALT_ALL", "halt_all"), ("1", "close_only"),
    ("yes", "close_only"), ("close", "close_only"), ("2", "halt_all"), ("stop", "halt_all"), ("full", "halt_all"),
    ("0", "off"), ("false", "off"), ("halt_all\n", "halt_all"), ("typo", "off"),
])
def test_env_mode_uses_the_real_words(text, mode):
    # engine/risk.py _refresh_manual_kill: words it does not know are ignored
    assert ks.env_mode(text) == mode


@pytest.mark.parametrize(("content", "mode"), [
    (None, "off"), (b"", "close_only"), (b"close_only\n", "close_only"), (b"halt_all\n", "halt_all"),
    (b"HALT", "halt_all"), (b"full stop", "halt_all"), (b"please stop", "close_only"), (b"\xff\xfe", "close_only"),
])
def test_file_mode_any_existing_file_kills(content, mode):
    assert ks.file_mode(content) == mode


@pytest.mark.parametrize(("modes", "worst"), [
    (("off", "off"), "off"), (("off", "close_only"), "close_only"), (("halt_all", "close_only"), "halt_all"),
    ((), "off"), ((None, "close_only"), "close_only"),
])
def test_most_restrictive(modes, worst):
    assert ks.most_restrictive(*modes) == worst


def test_file_content_is_what_echo_writes():
    assert ks.file_content("close_only") == b"close_only\n"
    assert ks.file_content("halt_all") == b"halt_all\n"
    with pytest.raises(ValueError):
        ks.file_content("off")


def test_dropin_round_trip():
    text = ks.render_dropin("halt_all")
    assert "[Service]\nEnvironment=AI_QUANT_KILL_SWITCH=halt_all\n" in text
    assert ks.parse_dropin(text) == "halt_all"
    assert ks.parse_dropin("") == "off"
    with pytest.raises(ValueError):
        ks.render_dropin("off")


def test_engage_writes_when_the_source_differs():
    p = ks.plan("close_only", "file", {"file": "off", "env": "off"})
    assert (p["write"], p["target"], p["previous_mode"], p["effective_mode"], p["warnings"]) == (True, "close_only", "off", "close_only", [])


def test_engage_again_is_idempotent():
    p = ks.plan("close_only", "file", {"file": "close_only", "env": "off"})
    assert not p["write"] and p["effective_mode"] == "close_only"


@pytest.mark.parametrize("strict_source", ["file", "env"])
@pytest.mark.parametrize("method", ["file", "env"])
def test_never_relaxes_halt_all_from_either_source(method, strict_source):
    sources = {"file": "off", "env": "off"}
    sources[strict_source] = "halt_all"
    p = ks.plan("close_only", method, sources)
    assert not p["write"]
    assert p["effective_mode"] == "halt_all"
    assert "halt_all is in force" in p["warnings"][0]


def test_force_relaxes_the_chosen_source_but_reports_the_other():
    p = ks.plan("close_only", "file", {"file": "halt_all", "env": "off"}, force=True)
    assert p["write"] and p["target"] == "close_only" and p["effective_mode"] == "close_only"
    # the file decides: relaxing it relaxes the trader even where the env says halt_all
    p = ks.plan("close_only", "file", {"file": "halt_all", "env": "halt_all"}, force=True)
    assert p["write"] and p["effective_mode"] == "close_only"


def test_the_file_decides_whenever_it_exists():
    # the env value is applied first, the file after it: a close_only file wins over an env halt_all
    p = ks.plan("close_only", "file", {"file": "close_only", "env": "halt_all"})
    assert not p["write"] and p["previous_mode"] == "close_only" and p["effective_mode"] == "close_only"
    p = ks.plan("halt_all", "file", {"file": "close_only", "env": "halt_all"})
    assert p["write"] and p["effective_mode"] == "halt_all"


def test_env_halt_all_under_a_close_only_file_says_so():
    p = ks.plan("halt_all", "env", {"file": "close_only", "env": "off"})
    assert p["write"] and p["effective_mode"] == "close_only"
    assert "the kill file says close_only" in p["warnings"][0]


def test_off_clears_only_the_chosen_source_and_says_what_remains():
    p = ks.plan("off", "file", {"file": "halt_all", "env": "close_only"})
    assert p["write"] and p["target"] == "off"
    assert p["effective_mode"] == "close_only"
    assert "env source still says close_only" in p["warnings"][0]
    assert not ks.plan("off", "env", {"file": "off", "env": "off"})["write"]


def test_halt_all_escalates_over_close_only():
    p = ks.plan("halt_all", "env", {"file": "off", "env": "close_only"})
    assert p["write"] and p["effective_mode"] == "halt_all" and p["warnings"] == []


@pytest.mark.parametrize(("mode", "method"), [("stop", "file"), ("close_only", "socket")])
def test_bad_input_is_refused(mode, method):
    with pytest.raises(ValueError):
        ks.plan(mode, method, {"file": "off", "env": "off"})
