"""The Debian package (issue 12), as far as a machine without a running systemd allows:
scripts/package.sh builds dist/casewatch_<version>_<arch>.deb from the tested build and lintian
passes it; dpkg -i installs it (the casewatch user from sysusers, /var/lib/casewatch from tmpfiles,
the config a conffile); the installed unit's ExecStartPre and ExecStart run as its User with the
environment systemd gives them (STATE_DIRECTORY, JOURNAL_STREAM), the state lands in
/var/lib/casewatch (0600), a refused reload is logged at priority err; dpkg -r keeps the config
and the state, dpkg -P removes both.

It installs a package on this machine, so it runs only as root and only where casewatch is not
installed already (exit 77, reported as skipped, otherwise)."""
import grp
import json
import os
import pwd
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

from sinks import free_port, wait_until

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.environ.get("CASEWATCH_BUILD_DIR", os.path.join(REPO, "build"))
UNIT = "/lib/systemd/system/casewatch.service"
CONFIG = "/etc/casewatch/casewatch.toml"
STATE = "/var/lib/casewatch"


def installed():
    return subprocess.run(["dpkg-query", "-W", "-f=${Status}", "casewatch"], capture_output=True,
                          text=True).stdout.startswith("install ok installed")


def unit_settings():
    """The [Service] settings of the installed unit: name -> list of values."""
    settings = {}
    with open(UNIT) as f:
        for line in f:
            line = line.strip()
            if "=" in line and not line.startswith("#"):
                name, value = line.split("=", 1)
                settings.setdefault(name, []).append(value)
    return settings


def get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


class PackageTest(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="casewatch-package-", dir="/var/tmp")
        os.chmod(self.work, 0o755)
        self.daemon = None
        self.log = None

    def tearDown(self):
        if self.log:
            self.log.close()
        if self.daemon and self.daemon.poll() is None:
            self.daemon.kill()
            self.daemon.wait()
        if installed() or os.path.exists("/var/lib/dpkg/info/casewatch.list"):
            subprocess.run(["dpkg", "--purge", "casewatch"], capture_output=True)
        shutil.rmtree(self.work, ignore_errors=True)

    def as_service(self, command, env):
        """A command line of the unit, run as the unit's user in its working directory."""
        settings = unit_settings()
        user = settings["User"][0]
        argv = shlex.split(command)
        # setpriv execs the command (runuser would stay in between and keep SIGHUP to itself).
        return ["setpriv", "--reuid=" + user, "--regid=" + user, "--init-groups", "--", "env", "-C",
                settings["WorkingDirectory"][0],
                *("%s=%s" % kv for kv in env.items()), *argv]

    def test_package_installs_runs_as_its_user_and_purges(self):
        built = subprocess.run(["bash", os.path.join(REPO, "scripts", "package.sh"), "--no-build"], cwd=REPO,
                               env=dict(os.environ, BUILD_DIR=BUILD_DIR), capture_output=True, text=True)
        self.assertEqual(built.returncode, 0, built.stdout + built.stderr)  # lintian errors fail it
        deb = os.path.join(REPO, built.stdout.strip().splitlines()[-1])
        version = subprocess.run([os.path.join(BUILD_DIR, "casewatch"), "--version"], capture_output=True,
                                 text=True).stdout.split()[1]
        self.assertRegex(os.path.basename(deb), r"^casewatch_%s_[a-z0-9]+\.deb$" % version.replace(".", r"\."))

        result = subprocess.run(["dpkg", "-i", deb], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        user = pwd.getpwnam("casewatch")  # made by systemd-sysusers
        self.assertEqual(user.pw_shell, "/usr/sbin/nologin")
        st = os.stat(STATE)  # made by systemd-tmpfiles
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (user.pw_uid, 0o700))
        conffiles = subprocess.run(["dpkg-query", "-W", "-f=${Conffiles}", "casewatch"], capture_output=True,
                                   text=True).stdout
        self.assertIn(CONFIG, conffiles)
        for path in ("/usr/bin/casewatch", UNIT, "/usr/lib/sysusers.d/casewatch.conf",
                     "/usr/lib/tmpfiles.d/casewatch.conf", "/usr/share/man/man1/casewatch.1.gz",
                     "/usr/share/casewatch/examples/improvement-plan/casewatch.toml",
                     "/usr/share/casewatch/prometheus/casewatch.rules.yml",
                     "/usr/share/casewatch/dashboards/casewatch-scorecard.json",
                     "/usr/share/doc/casewatch/copyright"):
            self.assertTrue(os.path.exists(path), path)
        verify = subprocess.run(["systemd-analyze", "verify", UNIT], capture_output=True, text=True)
        self.assertEqual(verify.returncode, 0, verify.stderr)
        # The installed default config checks as it is.
        checked = subprocess.run(["/usr/bin/casewatch", "check", "-c", CONFIG], capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, checked.stderr)

        # Untouched, the installed config names its state directory: check as the service's user
        # outside systemd (no STATE_DIRECTORY) says nothing of it, and the state is the unit's.
        outside = subprocess.run(self.as_service("/usr/bin/casewatch check -c %s" % CONFIG, {}), capture_output=True,
                                 text=True)
        self.assertNotIn("state_dir", outside.stderr)
        # Edit one file: the config, to read an extract (here a test folder the service can read).
        port = free_port()
        with open(os.path.join(self.work, "assessments.csv"), "w") as f:
            f.write("Assessment ID,Date of referral,Authorised,Allocated Team\nA1,01/05/2017,,Assessment\n")
        with open(os.path.join(self.work, "rules.toml"), "w") as f:
            f.write('[[rule]]\nname = "assessment_timescale"\nkind = "deadline"\nfeed = "assessments"\n'
                    'start = "referral_date"\ndone = "authorised"\ndue_in = "10 working days"\n')
        with open(CONFIG) as f:
            default = f.read()
        edited = default.replace('# rule_files = ["rules/*.toml"]', 'rule_files = ["%s/rules.toml"]' % self.work)
        edited = edited.replace('listen = "127.0.0.1:9797"', 'listen = "127.0.0.1:%d"' % port)
        edited += ('\n[[feed]]\nname = "assessments"\npath = "%s/assessments.csv"\nkey = "assessment_id"\n'
                   'date_format = "%%d/%%m/%%Y"\n[feed.fields]\nassessment_id = { column = "Assessment ID" }\n'
                   'referral_date = { column = "Date of referral", type = "date" }\n'
                   'authorised = { column = "Authorised", type = "date" }\nteam = { column = "Allocated Team" }\n'
                   % self.work)
        with open(CONFIG, "w") as f:
            f.write(edited)

        # What systemd would do: ExecStartPre, then ExecStart, as User= with StateDirectory='s
        # STATE_DIRECTORY and, stderr being the journal, JOURNAL_STREAM.
        settings = unit_settings()
        self.assertEqual(settings["User"], ["casewatch"])
        self.assertEqual(settings["StateDirectory"], ["casewatch"])
        log_path = os.path.join(self.work, "journal")
        log = self.log = open(log_path, "w")
        os.chown(log_path, user.pw_uid, -1)
        st = os.fstat(log.fileno())
        env = {"STATE_DIRECTORY": STATE, "JOURNAL_STREAM": "%d:%d" % (st.st_dev, st.st_ino)}
        for command in settings["ExecStartPre"]:
            pre = subprocess.run(self.as_service(command, env), capture_output=True, text=True)
            self.assertEqual(pre.returncode, 0, pre.stderr)
            self.assertNotIn("warning", pre.stderr)  # state_dir resolves into the state directory
        self.daemon = subprocess.Popen(self.as_service(settings["ExecStart"][0], env), stdout=subprocess.DEVNULL,
                                       stderr=log)
        wait_until(lambda: get(port, "/-/ready")[0] == 200, 30, "the installed daemon to be ready")
        status, body = get(port, "/api/v1/alerts")
        self.assertEqual([a["key"] for a in json.loads(body)["alerts"]], ["A1"])
        database = os.path.join(STATE, "casewatch.db")
        st = os.stat(database)
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (user.pw_uid, 0o600))
        self.assertFalse(os.path.exists("/etc/casewatch/state"))

        # A backup while it runs, as the service's user.
        backup = os.path.join(STATE, "backup.db")
        copied = subprocess.run(self.as_service("/usr/bin/casewatch state backup -c %s %s" % (CONFIG, backup), env),
                                capture_output=True, text=True)
        self.assertEqual(copied.returncode, 0, copied.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(backup).st_mode), 0o600)

        # A config with a problem: ExecReload's check refuses it before any signal; SIGHUP anyway
        # is refused by the daemon, logged at priority err (<3>) for journalctl -p err.
        with open(CONFIG, "w") as f:
            f.write(edited.replace('due_in', 'due_inn') + "\n[engine\n")
        reload_check = subprocess.run(self.as_service(settings["ExecReload"][0], env), capture_output=True, text=True)
        self.assertEqual(reload_check.returncode, 1)
        self.daemon.send_signal(signal.SIGHUP)
        def journal():
            with open(log_path) as f:
                return f.read()
        try:
            wait_until(lambda: "reload refused" in journal(), 10, "the refused reload in the log")
        except AssertionError:
            self.fail("no refused reload in the log:\n" + journal())
        self.assertEqual(get(port, "/-/ready")[0], 200)  # the running config stays
        self.daemon.send_signal(signal.SIGTERM)
        self.assertEqual(self.daemon.wait(timeout=15), 0)
        log.close()
        lines = journal().splitlines()
        self.assertTrue(lines and all(line[:3] in ("<7>", "<6>", "<4>", "<3>", "<2>") for line in lines), lines[:5])
        refused = [line for line in lines if "reload refused" in line]
        self.assertTrue(refused and all(line.startswith("<3>{") for line in refused), refused)
        for line in lines:
            record = json.loads(line[3:])
            if record["level"] == "info":
                self.assertNotIn("A1", line)  # an alert's key (a child's identifier) never at info

        # Remove keeps the config and the state; purge removes both.
        removed = subprocess.run(["dpkg", "-r", "casewatch"], capture_output=True, text=True)
        self.assertEqual(removed.returncode, 0, removed.stderr)
        self.assertFalse(os.path.exists("/usr/bin/casewatch"))
        self.assertTrue(os.path.exists(CONFIG))
        self.assertTrue(os.path.exists(database))
        purged = subprocess.run(["dpkg", "--purge", "casewatch"], capture_output=True, text=True)
        self.assertEqual(purged.returncode, 0, purged.stderr)
        self.assertFalse(os.path.exists("/etc/casewatch"))
        self.assertFalse(os.path.exists(STATE))


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("skipped: installing a package needs root")
        sys.exit(77)
    if installed() or os.path.exists(STATE):
        print("skipped: casewatch is installed on this machine (or %s exists); not touching it" % STATE)
        sys.exit(77)
    unittest.main()
