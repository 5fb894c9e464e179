"""Issue 11 on real hosts: what a hostile local user (mallory) or a hostile trader can plant at the paths root
uses for the emergency flows and the role, and that none of it blocks, undoes or redirects the kill, or hands a
system directory to the user."""

import json
import os
import secrets
import subprocess
import time

import testinfra.utils.ansible_runner
from labtools import ENV, INVENTORY, REPO, playbook

LIVE = testinfra.utils.ansible_runner.AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("openclaw_live")
testinfra_hosts = LIVE[:1]
KILL = "/tmp/ai-quant-kill"
DROPIN_DIR = "/home/trader/.config/systemd/user/openclaw-ai-quant-live.service.d"
DROPIN = DROPIN_DIR + "/50-quantops-kill-switch.conf"


def as_user(host, user, command):
    return host.run("runuser -u %s -- sh -c %s" % (user, json.dumps(command)))


def mallory(host):
    host.run_test("id mallory || useradd --no-create-home --shell /bin/sh mallory")
    return "mallory"


def deploy(*extra):
    argv = ["ansible-playbook", "-i", os.path.dirname(INVENTORY), str(REPO / "tests/lab/stacks.yml"), "-l", LIVE[0], *extra]
    out = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=600, check=False)
    return out.returncode, out.stdout + out.stderr


def test_a_fifo_planted_at_the_kill_path_neither_hangs_nor_blocks_the_kill(host, clean_kill_state):
    """Finding 1: any local user can mkfifo /tmp/ai-quant-kill."""
    host.run_test("rm -f %s" % KILL)
    assert as_user(host, mallory(host), "mkfifo %s" % KILL).rc == 0
    started = time.monotonic()
    rc, output = playbook("emergency_stop", "-e", "kill_hosts=" + LIVE[0])
    took = time.monotonic() - started
    assert rc == 0 and "PROTECTED" in output and "a FIFO" in output, output[-3000:]
    kill = host.file(KILL)
    assert kill.is_file and not kill.is_pipe and (kill.user, kill.mode, kill.content) == ("root", 0o644, b"close_only\n")
    assert took < 60, took  # well inside the lab's 20 s proof deadline plus the connection


def test_a_file_planted_by_another_user_is_replaced_and_cannot_be_undone_by_them(host, clean_kill_state):
    """Finding 2: mallory's 0600 file with the right word kept its owner; the trader could not read it and mallory
    could delete it, undoing the kill."""
    host.run_test("rm -f %s" % KILL)
    user = mallory(host)
    assert as_user(host, user, "umask 077 && echo halt_all > %s" % KILL).rc == 0
    rc, output = playbook("emergency_stop", "-e", "kill_hosts=" + LIVE[0], "-e", "kill_mode=halt_all")
    assert rc == 0 and "PROTECTED" in output and "owned by mallory" in output, output[-3000:]
    kill = host.file(KILL)
    assert (kill.user, kill.mode, kill.content) == ("root", 0o644, b"halt_all\n")
    assert as_user(host, "trader", "cat %s" % KILL).stdout == "halt_all\n"
    assert as_user(host, user, "rm -f %s" % KILL).rc != 0 and host.file(KILL).exists  # sticky /tmp: no longer theirs


def test_a_fifo_as_the_dropin_of_a_hostile_trader_does_not_hang_the_env_kill(host, clean_kill_state):
    """Finding 1, drop-ins: the trader owns its drop-in directory and can put a FIFO where ours goes."""
    assert as_user(host, "trader", "mkdir -p %s && rm -f %s && mkfifo %s" % (DROPIN_DIR, DROPIN, DROPIN)).rc == 0
    rc, output = playbook("emergency_stop", "-e", "kill_hosts=" + LIVE[0], "-e", "kill_method=env")
    assert rc == 0 and "PROTECTED" in output and "a FIFO" in output, output[-3000:]
    dropin = host.file(DROPIN)
    assert dropin.is_file and dropin.user == "trader" and b"AI_QUANT_KILL_SWITCH=close_only" in dropin.content


def test_a_symlinked_dropin_directory_is_refused_and_root_chowns_nothing(host, clean_kill_state):
    """Finding 3: the trader points its drop-in directory at /etc/tmpfiles.d; root must neither write there nor
    hand the directory to the trader."""
    before = host.run_test("stat -c '%U %a' /etc/tmpfiles.d && ls -A /etc/tmpfiles.d").stdout
    assert as_user(host, "trader", "rm -rf %s && ln -s /etc/tmpfiles.d %s" % (DROPIN_DIR, DROPIN_DIR)).rc == 0
    try:
        rc, output = playbook("emergency_stop", "-e", "kill_hosts=" + LIVE[0], "-e", "kill_method=env")
        assert rc != 0 and "UNPROTECTED" in output and "symbolic link owned by trader" in output, output[-3000:]
        assert host.run_test("stat -c '%U %a' /etc/tmpfiles.d && ls -A /etc/tmpfiles.d").stdout == before
    finally:
        host.run_test("rm -f %s" % DROPIN_DIR)


def test_the_role_refuses_a_symlink_in_the_users_config_and_chowns_nothing(host):
    """Finding 4: the role's `file: owner=trader` as root followed ~/.config/openclaw-ai-quant -> a root-owned
    directory and gave it to the trader."""
    conf = "/home/trader/.config/openclaw-ai-quant"
    host.run_test("install -d -o root -g root -m 0755 /var/lib/qo-victim")
    assert as_user(host, "trader", "mv %s %s.real && ln -s /var/lib/qo-victim %s" % (conf, conf, conf)).rc == 0
    try:
        rc, output = deploy()
        assert rc != 0 and "%s is a symlink" % conf in output, output[-3000:]
        assert host.run_test("stat -c '%U %a' /var/lib/qo-victim && ls -A /var/lib/qo-victim").stdout == "root 755\n"
    finally:
        host.run_test("rm -f %s && mv %s.real %s && rm -rf /var/lib/qo-victim" % (conf, conf, conf))
    assert host.file(conf).is_directory and host.file(conf).user == "trader"


def test_the_env_file_shows_names_not_values_under_diff(host):
    """Finding 6: openclaw_extra_env holds exchange settings; --diff -vvv must not print them."""
    secret = "s3cr3t-" + secrets.token_hex(8)
    rc, output = deploy("--check", "--diff", "-vvv", "-e", json.dumps({"openclaw_extra_env": {"HL_TEST_SECRET": secret}}))
    assert rc == 0, output[-3000:]
    assert secret not in output
    assert "HL_TEST_SECRET" in output and "AI_QUANT_SIM_SPEED" in output  # added, and removed, by name
    assert host.file("/home/trader/.config/openclaw-ai-quant/openclaw.env").mode == 0o600
