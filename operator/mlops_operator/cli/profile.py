"""Write the reference profile of a training set, for spec.monitoring.drift of a ModelDeployment.

  mlopsctl profile train.csv > profile.json
  mlopsctl profile train.parquet --features age,income,segment --configmap credit-profile -n models | kubectl apply -f -

Numeric columns are binned at their quantiles (--bins, equal-frequency), other columns (text, booleans,
or any named by --categorical) by their most frequent values (--max-categories; the rest share one bin).
Plain-array requests are matched to features by position in --features order (default: the file's
column order), so list exactly the model's inputs, in order; leave out the label.
With --configmap, prints a ConfigMap manifest holding the profile under `profile.json`.

Needs pandas (and pyarrow for Parquet): pip install 'mlops-operator[profile]'.

Exit codes:
  0  written
  1  the data could not be profiled (the reason is printed)
  2  usage error
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from mlops_operator.drift.build import DEFAULT_BINS, DEFAULT_MAX_CATEGORIES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data", type=Path, metavar="DATA", help="training data: .csv, .parquet or .json")
    parser.add_argument("--features", type=_names, default=[], help="comma-separated columns, in the model's order")
    parser.add_argument("--categorical", type=_names, default=[], help="numeric columns to treat as categories")
    parser.add_argument("--bins", type=int, default=DEFAULT_BINS, help=f"bins per numeric feature ({DEFAULT_BINS})")
    parser.add_argument(
        "--max-categories", type=int, default=DEFAULT_MAX_CATEGORIES, help="categories kept per feature"
    )
    parser.add_argument("--configmap", metavar="NAME", help="print a ConfigMap manifest with this name instead")
    parser.add_argument("-n", "--namespace", help="namespace of the ConfigMap (with --configmap)")
    parser.add_argument("-o", "--output", type=Path, help="write to this file instead of standard output")


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def run(args: argparse.Namespace) -> int:
    from mlops_operator.drift.build import ProfileInputError, build_profile, read_frame

    try:
        frame = read_frame(args.data)
        profile = build_profile(frame, args.features, args.bins, args.max_categories, args.categorical)
    except (ProfileInputError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = profile.to_json() + "\n"
    if args.configmap:
        metadata = {"name": args.configmap, **({"namespace": args.namespace} if args.namespace else {})}
        manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": {"profile.json": text}}
        text = yaml.safe_dump(manifest, sort_keys=False)
    if args.output:
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
    summary = ", ".join(f"{f.name} ({f.kind}, {f.bins} bins)" for f in profile.features)
    print(f"profiled {profile.rows} rows: {summary}", file=sys.stderr)
    return 0
