#!/usr/bin/env python3
"""Wall time of short commands, the median of N runs each (docs/benchmarks.md,
"Starting carrot"):

    go build -o /tmp/carrot ./cmd/carrot
    go build -tags nocluster -o /tmp/carrot-lean ./cmd/carrot
    python3 bench/startup/startup.py /tmp/carrot /tmp/carrot-lean
"""
import statistics
import subprocess
import sys
import time


def median_ms(cmd, n=40):
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main():
    print(f"true: {median_ms(['true']):.2f} ms")
    print(f"strace -o /dev/null true: {median_ms(['strace', '-o', '/dev/null', 'true']):.2f} ms")
    print(f"proxychains4 -q true: {median_ms(['proxychains4', '-q', 'true']):.2f} ms")
    for carrot in sys.argv[1:]:
        for args in (["version"], ["trace", "-o", "/dev/null", "true"],
                     ["run", "--exit", "socks5://127.0.0.1:9", "--exit-history=false", "--", "true"]):
            print(f"{carrot} {' '.join(args)}: {median_ms([carrot] + args):.2f} ms")


if __name__ == "__main__":
    main()
