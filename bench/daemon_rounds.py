#!/usr/bin/python3
"""The daemon's evaluation round at scale, read from its own histogram.

    bench/daemon_rounds.py WORK [--as-of YYYY-MM-DD] [--rounds 20]

Starts build/casewatch on WORK/casewatch.toml (the macro benchmark's config and data, written by
bench/macro.sh) on the manual test clock at 09:00 on DATE, with a state folder of its own, waits
for the first (cold) round, then advances the clock by the config's evaluation interval ROUNDS
times with the feeds unchanged, then to 23:55 on DATE in the config's timezone (a round that
re-reads every feed, their refresh being due) and to 00:05 on DATE+1 (the midnight round: every
deadline window crossed afresh, no feed due again). Each round's duration is the
growth of `casewatch_evaluation_duration_seconds_sum` across it, so the figures are the daemon's own
(feeds, rules, alert book, dispatch). Prints p50 and the range of the same-day rounds, the next-day
round, and the daemon's resident memory after them (VmRSS) and at its peak (VmHWM), and writes the
same as JSON to WORK/daemon-rounds.json. With --phases, each round's
phases from the debug log; with --perf FILE, a perf profile of the same-day rounds (with
--perf-next-day FILE, of the next day's round); with
--stand-ins, scripts/stand-ins.py catches the example deployment's emails and webhooks (SMTP on
2525, HTTP on 9798), so that its notifications are delivered rather than retried.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zoneinfo

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def metric(port, name):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=60) as resp:
        text = resp.read().decode()
    match = re.search(r"^%s(?:\{\})? (\S+)$" % re.escape(name), text, re.M)
    if not match:
        raise RuntimeError("no %s in /metrics" % name)
    return float(match.group(1))


def post(port, path):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=b"", method="POST")
    with urllib.request.urlopen(req, timeout=600) as resp:
        assert resp.status == 200


def memory(pid):
    with open("/proc/%d/status" % pid) as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    return {k: int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM")}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("work")
    parser.add_argument("--as-of", default="2026-11-26")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--interval", type=int, default=300, help="seconds between rounds (the config's 5m)")
    parser.add_argument("--phases", action="store_true",
                        help="run at --log-level debug and print each round's phases from the log")
    parser.add_argument("--perf", help="record a perf profile of the same-day rounds into this file")
    parser.add_argument("--perf-next-day", help="record a perf profile of the next day's round into this file")
    parser.add_argument("--stand-ins", action="store_true",
                        help="run scripts/stand-ins.py for the example deployment's receivers")
    args = parser.parse_args()
    work = os.path.abspath(args.work)
    binary = os.path.join(REPO, "build", "casewatch")
    state = tempfile.mkdtemp(prefix="casewatch-rounds-")
    try:
        # The config's state_dir is relative: run from a copy of the config beside the data.
        config = os.path.join(state, "casewatch.toml")
        with open(os.path.join(work, "casewatch.toml")) as f:
            text = f.read()
        text = text.replace('state_dir = "state"', 'state_dir = "%s"' % os.path.join(state, "state"))
        text = re.sub(r'"(data|rules|secrets)/', lambda m: '"%s/%s/' % (work, m.group(1)), text)
        with open(config, "w") as f:
            f.write(text)
        stand_ins = None
        if args.stand_ins:
            stand_ins = subprocess.Popen(
                ["/usr/bin/python3", os.path.join(REPO, "scripts", "stand-ins.py"), os.path.join(state, "inbox")],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            if not stand_ins.stdout.readline().startswith("stand-ins:"):
                sys.exit("daemon_rounds.py: the stand-ins did not start")
            stand_ins.stdout.close()
        started = time.monotonic()
        process = subprocess.Popen(
            [binary, "run", "-c", config, "--listen", "127.0.0.1:0", "--test-clock", args.as_of + "T09:00:00Z",
             "--log-level", "debug" if args.phases else "warn"],
            stdout=subprocess.PIPE, stderr=open(os.path.join(state, "stderr.log"), "w"), text=True)
        line = process.stdout.readline()
        if not line.startswith("listening on port "):
            sys.exit("daemon_rounds.py: casewatch did not start: " + line)
        port = int(line.split()[-1])
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/-/ready" % port, timeout=60) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None:
                sys.exit("daemon_rounds.py: casewatch exited before its first round")
            time.sleep(0.05)
        ready_seconds = time.monotonic() - started
        total = "casewatch_evaluation_duration_seconds_sum"
        cold = metric(port, total)
        rounds = []
        perf = None
        if args.perf:
            perf = subprocess.Popen(["perf", "record", "-g", "-o", args.perf, "-p", str(process.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        for _ in range(args.rounds):
            before = metric(port, total)
            post(port, "/-/test/advance?seconds=%d" % args.interval)
            rounds.append(metric(port, total) - before)
        steady = memory(process.pid)
        if perf:
            perf.send_signal(2)
            perf.wait()
        # To 23:55 on DATE, in the config's timezone: a round that re-reads the feeds (their hourly
        # refresh is due), still on DATE. Then to 00:05 on DATE+1: the midnight round, where every
        # deadline window is crossed afresh and no feed is due again.
        zone = zoneinfo.ZoneInfo(re.search(r'(?m)^timezone = "([^"]+)"', text).group(1))
        day = datetime.date.fromisoformat(args.as_of)
        clock = datetime.datetime.combine(day, datetime.time(9), tzinfo=datetime.timezone.utc)
        clock += datetime.timedelta(seconds=args.rounds * args.interval)
        before_midnight = datetime.datetime.combine(day, datetime.time(23, 55), tzinfo=zone)
        after_midnight = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time(0, 5), tzinfo=zone)
        before = metric(port, total)
        post(port, "/-/test/advance?seconds=%d" % (before_midnight - clock).total_seconds())
        reload_round = metric(port, total) - before
        if args.perf_next_day:
            perf = subprocess.Popen(["perf", "record", "-g", "-o", args.perf_next_day, "-p", str(process.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        before = metric(port, total)
        post(port, "/-/test/advance?seconds=%d" % (after_midnight - before_midnight).total_seconds())
        next_day = metric(port, total) - before
        if args.perf_next_day:
            perf.send_signal(2)
            perf.wait()
        after_next_day = memory(process.pid)
        process.terminate()
        process.wait(timeout=60)
        received = None
        if stand_ins:
            stand_ins.terminate()
            stand_ins.wait(timeout=60)
            received = {kind: len(os.listdir(os.path.join(state, "inbox", kind))) for kind in ("mail", "webhooks")}
        result = {
            "cold_round_seconds": cold,
            "ready_seconds": ready_seconds,
            "rounds": rounds,
            "same_day_p50_seconds": statistics.median(rounds),
            "next_day_round_seconds": next_day,
            "reload_round_seconds": reload_round,
            "steady_rss_bytes": steady["VmRSS"],
            "rss_after_next_day_bytes": after_next_day["VmRSS"],
            "peak_rss_bytes": after_next_day["VmHWM"],
            "stand_ins_received": received,
        }
        with open(os.path.join(work, "daemon-rounds.json"), "w") as f:
            json.dump(result, f, indent=2)
        mib = 1024 * 1024
        print("daemon: cold round %.3f s (ready after %.2f s)" % (cold, ready_seconds))
        print("daemon: %d rounds, same day, feeds unchanged: p50 %.4f s (%.4f-%.4f)" %
              (len(rounds), result["same_day_p50_seconds"], min(rounds), max(rounds)))
        print("daemon: the round at 23:55 re-reading every feed: %.3f s" % reload_round)
        print("daemon: the next day's round (00:05): %.3f s" % next_day)
        print("daemon: RSS %d MiB steady, %d MiB after the next day, %d MiB peak" %
              (steady["VmRSS"] / mib, after_next_day["VmRSS"] / mib, after_next_day["VmHWM"] / mib))
        if received is not None:
            print("stand-ins: %d emails and %d webhook requests received" % (received["mail"], received["webhooks"]))
        if args.phases:
            with open(os.path.join(state, "stderr.log")) as f:
                for line in f:
                    if "evaluation round" in line:
                        print(line.rstrip())
    finally:
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
