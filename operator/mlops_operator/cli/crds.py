"""`mlopsctl crds`: write (or check) the CRDs generated from the models.

Exit codes:
  0  written (or, with --check, up to date)
  1  with --check: a committed CRD is stale
  2  usage error
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mlops_operator.api.crd import crd_files

# Copies kept for installers that cannot reach the top-level crds/ folder (Helm's crds/, kustomize's root).
COPIES = (Path("charts/mlops-operator/crds"), Path("deploy/crds"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("crds"),
        help="output directory (default: crds, also copied to the chart and deploy/ when those exist)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 when a committed CRD differs from the models",
    )
    parser.add_argument("--stdout", action="store_true", help="print all CRDs as one YAML stream instead")


def _targets(directory: Path) -> dict[Path, str]:
    files = crd_files(directory)
    if directory == Path("crds"):
        for copy in COPIES:
            if copy.parent.is_dir():
                files.update(crd_files(copy))
    return files


def run(args: argparse.Namespace) -> int:
    files = _targets(args.dir)
    if args.stdout:
        print("---\n".join(files.values()), end="")
        return 0
    if args.check:
        stale = [p for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        for path in stale:
            print(f"{path}: stale; run `mlopsctl crds` (or `make crds`) and commit the result", file=sys.stderr)
        return 1 if stale else 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0
