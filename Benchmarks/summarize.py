#!/usr/bin/env python3
"""Medians and ratios from mcdutils-bench TSV output.

    summarize.py run.tsv                 # one run: medians and the ratios the goals use
    summarize.py before=a.tsv after=b.tsv   # several labelled runs side by side

Each file holds the harness's rows (the header line is optional). For every case the median over
the reps of the wall and CPU microseconds per operation is taken; ratios divide medians.
"""

import statistics
import sys

# (numerator case, denominator case) pairs reported as ratios, besides every case that has a
# C row of the same name.
PAIRS = [
    ("session_write", "sess_write_emul"),
    ("session_read", "sess_read_emul"),
    ("session_write_async", "session_write"),
    ("session_read_async", "session_read"),
    ("session_write_r1", "session_write"),
    ("session_read_r1", "session_read"),
    ("session_write_sealed", "session_write"),
    ("session_read_sealed", "session_read"),
    ("codec_json_encode", "codec_encode"),
    ("codec_json_decode", "codec_decode"),
    ("codec_json_encode", "codec_struct_encode"),
    ("codec_json_decode", "codec_struct_decode"),
    ("session_write_c16", "session_write"),
    ("sess_write_emul_c16", "sess_write_emul"),
]


def load(path):
    rows = {}
    errors = {}
    with open(path) as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 12 or fields[0] != "swift":
                continue
            client, case = fields[1], fields[3]
            key = (client, case)
            rows.setdefault(key, []).append((float(fields[7]), float(fields[11])))
            errors[key] = errors.get(key, 0) + int(fields[9])
    medians = {}
    for key, values in rows.items():
        medians[key] = (
            statistics.median(v[0] for v in values),
            statistics.median(v[1] for v in values),
            errors[key],
        )
    return medians


def ratios(medians):
    result = []
    ours = {case: value for (client, case), value in medians.items() if client == "mcdutils"}
    theirs = {case: value for (client, case), value in medians.items() if client != "mcdutils"}
    for case, (wall, cpu, _) in sorted(ours.items()):
        if case in theirs:
            cwall, ccpu, _ = theirs[case]
            result.append((f"{case} / C", wall / cwall, cpu / ccpu))
    everything = {case: value for (_, case), value in medians.items()}
    for top, bottom in PAIRS:
        if top in everything and bottom in everything:
            result.append(
                (f"{top} / {bottom}", everything[top][0] / everything[bottom][0],
                 everything[top][1] / everything[bottom][1]))
    return result


def main(arguments):
    runs = []
    for argument in arguments:
        label, _, path = argument.rpartition("=")
        runs.append((label or path, load(path)))
    if not runs:
        print(__doc__)
        return 2
    labels = [label for label, _ in runs]
    keys = sorted({key for _, medians in runs for key in medians}, key=lambda k: (k[1], k[0]))
    print("| client | case | " + " | ".join(f"{l} µs/op | {l} CPU µs/op" for l in labels) + " |")
    print("|---|---|" + "---|---|" * len(labels))
    for key in keys:
        cells = []
        for _, medians in runs:
            if key in medians:
                wall, cpu, errors = medians[key]
                note = f" ({errors} errors)" if errors else ""
                cells.append(f"{wall:.2f}{note} | {cpu:.2f}")
            else:
                cells.append(" | ")
        print(f"| {key[0]} | {key[1]} | " + " | ".join(cells) + " |")
    print()
    print("| ratio | " + " | ".join(f"{l} wall | {l} CPU" for l in labels) + " |")
    print("|---|" + "---|---|" * len(labels))
    table = {}
    for index, (_, medians) in enumerate(runs):
        for name, wall, cpu in ratios(medians):
            table.setdefault(name, [None] * len(runs))[index] = (wall, cpu)
    for name, values in table.items():
        cells = [f"{v[0]:.2f}× | {v[1]:.2f}×" if v else " | " for v in values]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
