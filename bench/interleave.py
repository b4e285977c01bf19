"""Times commands in turns: each round runs every command once (after its preparation), in an
order that rotates, so that the load of a shared machine falls on all of them alike — hyperfine
runs one command's runs back to back, and a slow minute then lands on one row only.

  interleave.py --runs N --warmup W --export-json FILE [--prepare CMD] -n NAME CMD ...

Each `-n NAME CMD` may be preceded by `--prepare CMD` (run untimed before each of its runs).
Commands run without a shell, split on spaces, as `hyperfine -N` does. The export has
hyperfine's shape (results: command, median, mean, times) for report.py.
"""

import json
import statistics
import subprocess
import sys
import time


def parse(argv):
    opts = {"runs": 100, "warmup": 10, "export": None}
    cases, prepare = [], None
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--runs":
            opts["runs"] = int(argv[i + 1]); i += 2
        elif arg == "--warmup":
            opts["warmup"] = int(argv[i + 1]); i += 2
        elif arg == "--export-json":
            opts["export"] = argv[i + 1]; i += 2
        elif arg == "--prepare":
            prepare = argv[i + 1]; i += 2
        elif arg == "-n":
            cases.append({"name": argv[i + 1], "cmd": argv[i + 2].split(), "prepare": prepare})
            prepare = None
            i += 3
        else:
            sys.exit(f"interleave.py: unknown argument {arg}")
    return opts, cases


def once(case):
    if case["prepare"]:
        subprocess.run(case["prepare"], shell=True, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    start = time.perf_counter()
    done = subprocess.run(case["cmd"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"interleave.py: {' '.join(case['cmd'])} exited {done.returncode}")
    return elapsed


def main():
    opts, cases = parse(sys.argv[1:])
    for _ in range(opts["warmup"]):
        for case in cases:
            once(case)
    times = [[] for _ in cases]
    for round_ in range(opts["runs"]):
        shift = round_ % len(cases)
        for k in list(range(shift, len(cases))) + list(range(shift)):
            times[k].append(once(cases[k]))
    results = [
        {"command": case["name"], "median": statistics.median(t), "mean": statistics.fmean(t),
         "times": t}
        for case, t in zip(cases, times)
    ]
    with open(opts["export"], "w") as out:
        json.dump({"results": results}, out)


if __name__ == "__main__":
    main()
