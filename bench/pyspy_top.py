"""Summarise a `py-spy record --format raw` profile: the share of samples in which each function is on
the stack (inclusive) and on top of it (self).

    python -m bench.pyspy_top profile.txt [how many lines]
"""

import re
import sys
from collections import Counter


def summarise(lines: list[str]) -> tuple[int, Counter, Counter]:
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack:
            continue
        samples = int(count)
        frames = [re.sub(r" \(/.*?site-packages/", " (", frame) for frame in stack.split(";")]
        total += samples
        for frame in set(frames):
            inclusive[frame] += samples
        own[frames[-1]] += samples
    return total, inclusive, own


def main() -> None:
    with open(sys.argv[1]) as profile:
        total, inclusive, own = summarise(profile.readlines())
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 40
    skip = ("process ", "threading.py", "concurrent/", "gunicorn/app", "arbiter.py", "runpy", "__main__")
    print(f"{total} samples\n--- inclusive")
    for frame, samples in inclusive.most_common(top + 20):
        if not frame.startswith(skip) and not any(part in frame for part in skip):
            print(f"{100 * samples / total:5.1f}% {frame[:140]}")
    print("--- self")
    for frame, samples in own.most_common(15):
        print(f"{100 * samples / total:5.1f}% {frame[:140]}")


if __name__ == "__main__":
    main()
