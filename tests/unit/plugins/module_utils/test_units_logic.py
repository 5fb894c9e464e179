"""units_info's pure part (module_utils._units): systemd's --timestamp=us+utc times, one unit's report from its
properties, and the one systemctl call for many units of a user's manager, as root and as the user."""

import pytest
from ansible_collections.quantops.runbooks.plugins.module_utils import _units
from ansible_collections.quantops.runbooks.plugins.module_utils._systemd import SystemdTarget

SHOW = """Id=openclaw-ai-quant-ws-sidecar.service
LoadState=loaded
ActiveState=active
SubState=running
MainPID=449
InvocationID=71a93c867ba7495694d914f67324b8e3
ActiveEnterTimestamp=Sun 2026-11-29 19:43:01.469827 UTC
NRestarts=2
Result=success
ExecMainStatus=0
UnitFileState=enabled

Id=nosuch.service
LoadState=not-found
ActiveState=inactive
SubState=dead
MainPID=0
InvocationID=
ActiveEnterTimestamp=
NRestarts=0
Result=success
ExecMainStatus=0
UnitFileState=

Id=openclaw-ai-quant-trader.service
LoadState=loaded
ActiveState=failed
SubState=failed
MainPID=0
InvocationID=
ActiveEnterTimestamp=Sun 2026-11-29 19:40:00 UTC
NRestarts=5
Result=exit-code
ExecMainStatus=1
UnitFileState=enabled
"""


@pytest.mark.parametrize("text, epoch", [
    ("Sun 2026-11-29 19:38:08.123456 UTC", 1795981088.123456),
    ("Sun 2026-11-29 19:38:08 UTC", 1795981088.0),
    ("2026-11-29 19:38:08.5 UTC", 1795981088.5),
    ("Thu 1970-01-01 00:00:00.000001 UTC", 0.000001),
    ("", None),
    ("n/a", None),
    (None, None),
])
def test_timestamps(text, epoch):
    got = _units.parse_timestamp(text)
    assert got == pytest.approx(epoch, abs=1e-7) if epoch is not None else got is None


@pytest.mark.parametrize("text", ["Sun 2026-11-29 20:38:08 CET", "1795981088", "Sun 2026-11-29T19:38:08Z", "Sun 2026-13-29 19:38:08 UTC"])
def test_unknown_timestamps_are_refused_not_guessed(text):
    with pytest.raises((_units.UnitsError, ValueError)):
        _units.parse_timestamp(text)


def test_iso_keeps_microseconds():
    assert _units.iso_utc(1795981088.123456) == "2026-11-29T19:38:08.123456+00:00"
    assert _units.iso_utc(1795981088.0) == "2026-11-29T19:38:08.000000+00:00"
    assert _units.iso_utc(None) is None


def test_unit_info_of_running_missing_and_failed_units():
    blocks = _units.parse_show(SHOW)
    now = 1795981100.0
    running, missing, failed = (_units.unit_info(b, now) for b in blocks)
    assert running == dict(
        id="openclaw-ai-quant-ws-sidecar.service", load_state="loaded", active_state="active", sub_state="running", main_pid=449,
        invocation_id="71a93c867ba7495694d914f67324b8e3", active_enter="2026-11-29T19:43:01.469827+00:00",
        active_enter_epoch=pytest.approx(1795981381.469827), since_s=0.0, n_restarts=2, result="success", exec_main_status=0,
        unit_file_state="enabled")
    assert missing["load_state"] == "not-found" and missing["main_pid"] is None and missing["since_s"] is None
    assert missing["invocation_id"] is None and missing["unit_file_state"] is None and missing["active_enter"] is None
    # a failed unit keeps its last start, but is not "up since" then
    assert failed["active_enter"] == "2026-11-29T19:40:00.000000+00:00" and failed["since_s"] is None
    assert failed["n_restarts"] == 5 and failed["exec_main_status"] == 1 and failed["result"] == "exit-code"


def test_since_counts_to_now():
    info = _units.unit_info(_units.parse_show(SHOW)[0], 1795981381.469827 + 12.5)
    assert info["since_s"] == pytest.approx(12.5)


class Recorder(object):
    def __init__(self, out):
        self.out, self.calls = out, []

    def run_command(self, argv, environ_update=None):
        self.calls.append((argv, environ_update))
        return 0, self.out, ""


@pytest.mark.parametrize("euid, prefix", [(0, ["systemctl", "--user", "-M", "nobody@"]), (65534, ["systemctl", "--user"])])
def test_one_systemctl_call_for_all_units(euid, prefix):
    """As root for another user's manager (-M USER@), and as that user itself."""
    module = Recorder(SHOW)
    target = SystemdTarget("user", "nobody", euid=euid)
    props = _units.show(module, target, ["openclaw-ai-quant-ws-sidecar.service", "nosuch.service", "openclaw-ai-quant-trader.service"],
                        _units.INFO_PROPERTIES, options=(_units.TIMESTAMP_OPTION,))
    assert len(module.calls) == 1
    argv = module.calls[0][0]
    assert argv[:len(prefix)] == prefix
    assert argv[len(prefix):len(prefix) + 2] == ["show", "--timestamp=us+utc"]
    assert argv[-4:] == ["--", "openclaw-ai-quant-ws-sidecar.service", "nosuch.service", "openclaw-ai-quant-trader.service"]
    assert props["nosuch.service"]["LoadState"] == "not-found"


def test_system_scope_argv():
    module = Recorder(SHOW.split("\n\n", maxsplit=1)[0] + "\n")
    _units.show(module, SystemdTarget("system"), ["x.service"], _units.INFO_PROPERTIES, options=(_units.TIMESTAMP_OPTION,))
    assert module.calls[0][0][:3] == ["systemctl", "show", "--timestamp=us+utc"]


def test_full_name():
    assert _units.full_name("openclaw-ai-quant-trader") == "openclaw-ai-quant-trader.service"
    assert _units.full_name("backup.timer") == "backup.timer"


@pytest.mark.parametrize("text", ["Mon 2026-02-30 00:00:00 UTC", "Sun 2026-11-29 25:00:00 UTC", "Sun 2026-11-29 19:61:00 UTC",
                                  "Sun 2026-11-29 19:38:08.1234567 UTC", "Sun 2026-11-29 19:38:08.123456 UTC trailing", "Sun  2026-11-29 19:38:08 UTC"])
def test_impossible_or_odd_timestamps_are_refused_not_carried_over(text):
    """calendar.timegm alone would read Feb 30 as Mar 2: a wrong reading must not pass as a time."""
    with pytest.raises(_units.UnitsError, match="cannot read the timestamp"):
        _units.parse_timestamp(text)


def test_unit_info_of_a_block_with_missing_and_odd_properties():
    """A unit that never ran: NRestarts/ExecMainStatus may be empty or absent; nothing is guessed."""
    info = _units.unit_info({"Id": "x.service", "LoadState": "loaded", "ActiveState": "active", "ActiveEnterTimestamp": "n/a",
                             "NRestarts": "", "ExecMainStatus": "-1", "MainPID": "abc"}, 1795981100.0)
    assert info["since_s"] is None and info["active_enter"] is None and info["active_enter_epoch"] is None
    assert info["n_restarts"] is None and info["exec_main_status"] == -1 and info["main_pid"] is None
    assert _units.unit_info({}, 0.0) == dict((k, None) for k in info)


def test_a_start_in_the_future_is_up_zero_seconds():
    """The host's clock stepped back after the start: since_s is 0, never negative."""
    info = _units.unit_info(_units.parse_show(SHOW)[0], 1795981381.469827 - 5)
    assert info["since_s"] == 0.0


def test_a_property_listed_twice_keeps_both_lines():
    blocks = _units.parse_show("Id=a.service\nEnvironmentFiles=/a (ignore_errors=no)\nEnvironmentFiles=/b (ignore_errors=yes)\n\n\nId=b.service\n")
    assert blocks == [{"Id": "a.service", "EnvironmentFiles": "/a (ignore_errors=no)\n/b (ignore_errors=yes)"}, {"Id": "b.service"}]


def test_fewer_blocks_than_units_is_an_error_not_a_shifted_answer():
    with pytest.raises(_units.UnitsError, match="2 blocks for 3 units"):
        _units.show(Recorder(SHOW.rsplit("\n\n", 1)[0]), SystemdTarget("system"), ["a.service", "b.service", "c.service"])


def test_systemctl_failing_is_an_error_naming_the_manager():
    class Failing(Recorder):
        def run_command(self, argv, environ_update=None):
            return 1, "", "Failed to connect to bus: No medium found\n"
    with pytest.raises(_units.UnitsError, match="cannot read a.service from the system manager: Failed to connect to bus"):
        _units.show(Failing(""), SystemdTarget("system"), ["a.service"])
