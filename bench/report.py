"""Prints bench/run.sh's figures against the baseline of the same run.

  report.py hyperfine FILE [NAME=TARGET_MS ...]  medians of a hyperfine export; the first
                                                 command is the baseline, a target is the
                                                 most NAME may add to it; NAME@FLOOR=MS is
                                                 the most NAME may add to command FLOOR
  report.py memory HOOK_KB TRUE_KB SUPERVISOR_KB
  report.py engine SHELL_MS DAFT_MS DIAMOND_MS
  report.py suite WITHOUT_S WITH_S               git's own tests, wall time
"""

import json
import sys


def hyperfine(path, *targets):
    results = json.load(open(path))["results"]
    medians = {r["command"]: r["median"] * 1000 for r in results}
    limits, floors = {}, {}
    for t in targets:
        name, limit = t.rsplit("=", 1)
        if "@" in name:
            name, floor = name.split("@", 1)
            floors[name] = (floor, float(limit))
        else:
            limits[name] = float(limit)
    base = results[0]["median"] * 1000
    for i, r in enumerate(results):
        name, value = r["command"], r["median"] * 1000
        text = f"  {name:<60} {value:8.2f} ms"
        if i > 0:
            extra = value - base
            text += f"   {extra:+6.2f} ms  ({value / base:4.2f}x)"
            if name in limits:
                limit = limits[name]
                text += f"   target <= +{limit:g} ms: {'met' if extra <= limit else 'MISSED'}"
        else:
            text += "   (baseline)"
        print(text)
        if name in floors:
            floor, limit = floors[name]
            above = value - medians[floor]
            print(f"  {'':<60} {'':8}      {above:+6.2f} ms above '{floor}'"
                  f"   target <= +{limit:g} ms: {'met' if above <= limit else 'MISSED'}")


def memory(hook_kb, true_kb, sup_kb):
    hook_kb, true_kb, sup_kb = float(hook_kb), float(true_kb), float(sup_kb)
    print(f"  daft hook (no work), peak RSS   {hook_kb / 1024:6.1f} MB   (true: {true_kb / 1024:.1f} MB)"
          f"   target < 10 MB: {'met' if hook_kb < 10240 else 'MISSED'}")
    print(f"  idle supervisor, peak RSS       {sup_kb / 1024:6.1f} MB")


def engine(shell, daft, diamond):
    shell, daft, diamond = float(shell), float(daft), float(diamond)
    per_job = (daft - shell) / 100
    print(f"  100 x 'sh -c true' by a shell (baseline)       {shell:8.2f} ms")
    print(f"  100 independent 'true' jobs, parallel: false  {daft:8.2f} ms   per-job overhead {per_job:.2f} ms"
          f"   target < 2 ms: {'met' if per_job < 2 else 'MISSED'}")
    critical = 900.0
    limit = critical * 1.05 + 30
    print(f"  diamond a -> (b, c) -> d of 0.3 s jobs: makespan {diamond:.0f} ms vs critical path {critical:.0f} ms "
          f"({diamond / critical:.3f}x)   target <= {limit:.0f} ms: {'met' if diamond <= limit else 'MISSED'}")


def suite(without, with_daft):
    without, with_daft = float(without), float(with_daft)
    extra = (with_daft / without - 1) * 100
    print(f"  without daft (baseline) {without:7.1f} s")
    print(f"  with daft               {with_daft:7.1f} s   {extra:+.1f}%   target <= +3%: {'met' if extra <= 3 else 'MISSED'}")


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    {"hyperfine": hyperfine, "memory": memory, "engine": engine, "suite": suite}[kind](*args)
