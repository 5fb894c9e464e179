"""The lab hosts are what the collection needs: real systemd hosts, reachable over SSH as root and as a
lingering user whose systemd --user manager and journal work, each with its own identity."""

import os
import subprocess

import pytest
import testinfra.utils.ansible_runner

HOSTS = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")
testinfra_hosts = HOSTS


def test_systemd_is_pid_1_and_running(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"
    assert host.run("systemctl is-system-running").stdout.strip() == "running"


def test_hostname_is_the_inventory_name(host):
    assert host.check_output("hostname") == host.backend.get_hostname()


@pytest.mark.parametrize("command", ["python3 -c 'import yaml, sqlite3'", "sqlite3 --version", "git --version", "node --version",
                                     "npm --version", "curl --version", "sudo --version", "test -x /usr/sbin/cron"])
def test_template_carries_what_the_stacks_need(host, command):
    assert host.run(command).rc == 0


def test_system_unit_runs_and_logs(host):
    unit = host.service("lab-heartbeat")
    assert unit.is_running and unit.is_enabled
    log = host.check_output("journalctl -u lab-heartbeat.service -o cat --no-pager -n 5")
    assert f"heartbeat system {host.backend.get_hostname()}" in log


def test_trader_lingers_and_its_user_unit_runs_and_logs(host):
    assert host.file("/var/lib/systemd/linger/trader").exists
    assert host.check_output("systemctl --user -M trader@ is-active lab-heartbeat.service") == "active"
    # as root, a user's unit is read by field: journalctl --user-unit would look at root's own journal
    log = host.check_output("journalctl _SYSTEMD_USER_UNIT=lab-heartbeat.service -o cat --no-pager -n 5")
    assert f"heartbeat user {host.backend.get_hostname()}" in log


def _ssh_as(host, user, command):
    """Run a command over a real SSH connection as ``user``, the way an operator or a playbook does."""
    hostvars = host.ansible.get_variables()
    key = hostvars.get("ansible_ssh_private_key_file") or hostvars["ansible_private_key_file"]
    argv = ["ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", f"{user}@{hostvars['ansible_host']}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def test_trader_over_ssh_has_its_manager_and_journal(host):
    result = _ssh_as(host, "trader", "id -un; systemctl --user is-system-running; journalctl --user -u lab-heartbeat -o cat -n 1 --no-pager")
    assert result.returncode == 0, result.stderr
    user, state, line = result.stdout.splitlines()[:3]
    assert (user, state) == ("trader", "running")
    assert line.startswith("heartbeat user ")


def test_trader_can_sudo_without_password(host):
    result = _ssh_as(host, "trader", "sudo -n id -u")
    assert result.returncode == 0 and result.stdout.strip() == "0", result.stderr


def test_each_host_has_its_own_identity(host):
    """machine-id and SSH host keys are made per host, not baked into the shared template."""
    mine = (host.file("/etc/machine-id").content_string.strip(), host.check_output("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"))
    for other_name in HOSTS:
        if other_name == host.backend.get_hostname():
            continue
        other = testinfra.get_host(f"ansible://{other_name}", ansible_inventory=os.environ["MOLECULE_INVENTORY_FILE"])
        theirs = (other.file("/etc/machine-id").content_string.strip(), other.check_output("ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub"))
        assert mine[0] != theirs[0] and mine[1] != theirs[1]


def test_hosts_reach_each_other_on_the_bridge(host):
    for other in HOSTS:
        assert host.run(f"bash -c 'exec 3<>/dev/tcp/{other}/22'").rc == 0
