#!/usr/bin/env python3
"""`sless up` with a template: ms from process start to the "ready" line, on a fresh data dir (the
first deployment) and then again on the same one (a restart, nothing to change), N rounds. With
several binaries the rounds alternate between them, so that a slow period of the machine hits all.
Usage: stack_startup.py TEMPLATE_DIR BIN [BIN...] [--rounds N]"""
import os, shutil, statistics, subprocess, sys, tempfile, time


def ready_ms(binary, data_dir, cwd):
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "up", "--data-dir", data_dir, "--port", "0", "--api-port", "0",
                          "--log-level", "warn"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd)
    lines = []
    for line in p.stdout:
        lines.append(line.decode(errors="replace").rstrip())
        if line.strip() == b"ready":
            break
    else:
        raise SystemExit(f"{binary} exited before ready:\n" + "\n".join(lines[-20:]))
    ms = (time.monotonic() - t0) * 1000
    p.terminate()
    p.wait()
    return ms


def main():
    args = sys.argv[1:]
    rounds = 8
    if "--rounds" in args:
        i = args.index("--rounds")
        rounds = int(args[i + 1])
        del args[i:i + 2]
    if len(args) < 2:
        raise SystemExit(__doc__)
    template_dir, binaries = os.path.abspath(args[0]), [os.path.abspath(b) for b in args[1:]]
    results = {b: ([], []) for b in binaries}
    scratch = tempfile.mkdtemp(prefix="slessstack")
    try:
        for _ in range(rounds):
            for b in binaries:
                data = os.path.join(scratch, "data")
                shutil.rmtree(data, ignore_errors=True)
                results[b][0].append(ready_ms(b, data, template_dir))
                results[b][1].append(ready_ms(b, data, template_dir))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for b, (first, restart) in results.items():
        print(f"{b}: first deployment median {statistics.median(first):.0f} ms (min {min(first):.0f}), "
              f"restart median {statistics.median(restart):.0f} ms (min {min(restart):.0f}), {rounds} rounds")


if __name__ == "__main__":
    main()
