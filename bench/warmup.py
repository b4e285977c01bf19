"""Reads `daft hooks log show --json` for bench/workspace.sh.

  warmup.py done                 exit 0 once warmup-build has ended
  warmup.py report ADD START     print "<git worktree add ms> <seconds from START to warmup end>"
"""

import json
import sys

jobs = {job["name"]: job for job in json.load(sys.stdin)["runs"][0]["jobs"]}
warmup = jobs["warmup-build"]
if sys.argv[1] == "done":
    sys.exit(1 if warmup["status"] in ("pending", "running") else 0)
assert warmup["status"] == "succeeded", warmup
add, start = float(sys.argv[2]), float(sys.argv[3])
print("%.0f %.1f" % (add * 1000, warmup["ended_at"] - start))
