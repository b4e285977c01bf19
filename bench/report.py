"""Prints bench/run.sh's figures as differences and ratios against the baseline of the same run."""

import sys


def ms(x):
    return f"{x:7.2f} ms"


def line(label, value, base=None, target=None):
    text = f"  {label:<44} {ms(value)}"
    if base is not None:
        extra = value - base
        text += f"   {extra:+6.2f} ms  ({value / base:4.2f}x)"
        if target is not None:
            text += f"   target <= +{target} ms: {'met' if extra <= target else 'MISSED'}"
    print(text)


def main(kind, *numbers):
    n = [float(x) for x in numbers]
    if kind == "dispatch":
        off, shim, daft, lefthook = n
        line("git switch, hooks off (baseline)", off)
        line("a bare sh hook (exec true): the shim's floor", shim, off)
        line("daft installed, no post-checkout work", daft, off, 2)
        line("lefthook, one trivial post-checkout command", lefthook, off)
        print(f"  the sh start alone is {shim - off:.2f} ms of daft's {daft - off:.2f} ms")
    elif kind == "worktree-add":
        off, daft, off_piped, daft_piped = n
        line("hooks off (baseline)", off)
        line("daft: sync true + background sleep 30", daft, off, 15)
        line("hooks off, piped through cat (baseline)", off_piped)
        line("daft, piped through cat", daft_piped, off_piped, 15)
    elif kind == "memory":
        hook_kb, true_kb, sup_kb = n
        print(f"  daft hook (no work), peak RSS   {hook_kb / 1024:6.1f} MB   (true: {true_kb / 1024:.1f} MB)   target < 10 MB: {'met' if hook_kb < 10240 else 'MISSED'}")
        print(f"  idle supervisor, peak RSS       {sup_kb / 1024:6.1f} MB")
    elif kind == "engine":
        shell, daft, diamond = n
        per_job = (daft - shell) / 100
        line("100 x 'sh -c true' by a shell (baseline)", shell)
        line("100 independent 'true' jobs, parallel: false", daft, shell)
        print(f"  per-job overhead {per_job:.2f} ms   target < 2 ms: {'met' if per_job < 2 else 'MISSED'}")
        critical = 900.0
        limit = critical * 1.05 + 30
        print(f"  diamond a -> (b, c) -> d of 0.3 s jobs: makespan {diamond:.0f} ms vs critical path {critical:.0f} ms "
              f"({diamond / critical:.3f}x)   target <= {limit:.0f} ms: {'met' if diamond <= limit else 'MISSED'}")


if __name__ == "__main__":
    main(*sys.argv[1:])
