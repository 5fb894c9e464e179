"""quantlab_troubleshoot on the QuantLab host: labeld stopped and another process on its port, its env file opened to
others: the findings name the port's holder (the thief's own pid, read from systemd) and the env file's mode as the
likely cause; the host is put back as found. The collector healthy: no problem found, the spool and writer reported.
No token of the env files in the output at -vvv."""

import os

import testinfra.utils.ansible_runner
from conftest import wait_for
from labtools import playbook

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY).get_hosts("quantlab")[:1]
ENV = "/etc/quantlab/labeld.env"
THIEF = "qt-port-thief"


def troubleshoot(host, service, *extra):
    """(exit code, output with its whitespace folded: the YAML callback wraps long lines)."""
    rc, out = playbook("quantlab_troubleshoot", "--limit", host.backend.host, "-e", "service=%s" % service, *extra)
    return rc, " ".join(out.split())


def test_a_port_holder_and_an_env_file_open_to_others_are_the_likely_cause(host):
    mode = host.check_output(f"stat -c %a {ENV}")
    thief = False
    try:
        host.run_expect([0], "systemctl stop quantlab-labeld")
        thief = True
        host.run_expect([0], f"systemd-run --unit={THIEF} /usr/bin/python3 -m http.server --bind 0.0.0.0 3061")
        wait_for(lambda: "python3" in host.check_output("ss -ltnpH 'sport = :3061'"), timeout=20, what="the thief on port 3061")
        pid = int(host.check_output(f"systemctl show -p MainPID --value {THIEF}"))
        host.run_expect([0], f"chmod 0644 {ENV}")
        rc, out = troubleshoot(host, "labeld")
        assert rc != 0, out
        assert (f"likely cause: port 3061 is taken by another process, python3 (pid {pid}): stop it or move it, then restart labeld; "
                f"its env file {ENV} has mode 0644, open to others: chmod 0600 it (or redeploy the role)") in out
        assert "finding: unit quantlab-labeld inactive/dead" in out
        assert "finding: dependency featurexd healthy" in out
        assert "PROBLEM" in out and "1 of 1 host(s) not OK" in out
    finally:
        host.run_expect([0], f"chmod {mode} {ENV}")
        if thief:
            host.run(f"systemctl stop {THIEF}")
            host.run(f"systemctl reset-failed {THIEF}")
        host.run_expect([0], "systemctl start quantlab-labeld")
        wait_for(lambda: host.run("curl -fsS -o /dev/null http://127.0.0.1:3061/health").rc == 0, timeout=60, what="labeld healthy again")


def test_the_collector_writing_shows_its_spool_and_writer_and_no_token_at_vvv(host):
    rc, out = troubleshoot(host, "collector", "-vvv")
    assert rc == 0, out
    assert "likely cause: no problem found: collector is active and healthy" in out
    assert "finding: spool /opt/quantlab/spool: present, mode 0750, owner deploy" in out
    assert "writable by deploy" in out and "finding: queue " in out
    assert "listeners" in out  # the module's whole result is in the output at -vvv
    values = set(line.split("=", 1)[1].strip().strip('"') for line in host.check_output("grep -h '_TOKEN=' /etc/quantlab/*.env").splitlines())
    assert values and all(len(v) >= 8 for v in values)
    for token in values:
        assert token not in out
