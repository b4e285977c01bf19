"""Ends the processes a benchmark started, by pid: the jobs and supervisors daft recorded in
the run records under WORKDIR, each only if it is still the same process (its start time
matches the record), its whole process group for a job.

  reap.py WORKDIR
"""

import json
import os
import signal
import sys
import time


def start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return None if fields[0] == "Z" else int(fields[19])


def records(work):
    for dirpath, _, files in os.walk(work):
        if os.path.basename(dirpath) != "jobs":
            continue
        for name in files:
            if name.endswith(".json"):
                try:
                    with open(os.path.join(dirpath, name)) as f:
                        yield json.load(f)
                except (OSError, ValueError):
                    pass


def main(work):
    alive = []
    for record in records(work):
        if record.get("status") not in ("pending", "running"):
            continue
        for key, group in (("process", True), ("owner", False)):
            proc = record.get(key)
            if proc and start_time(proc["pid"]) == proc["start"]:
                alive.append((proc["pid"], proc["start"], group))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid, start, group in alive:
            if start_time(pid) == start:
                try:
                    os.killpg(pid, sig) if group else os.kill(pid, sig)
                except OSError:
                    pass
        time.sleep(0.5)
    if alive:
        print(f"  ended {len(alive)} process(es) the benchmark started")


if __name__ == "__main__":
    main(sys.argv[1])
