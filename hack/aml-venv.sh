#!/usr/bin/env bash
# Creates (idempotently) the separate virtualenv that holds azureml-inference-server-http, the
# reference server our scoring server is compared with. It lives apart from .venv because its
# pinned dependencies (Flask, older pydantic/opencensus pins) conflict with the operator's.
# Prints the venv path on stdout; everything else goes to stderr.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${AML_VENV:-$ROOT/.venv-aml}"
PYTHON="${PYTHON:-python3}"
STAMP="$VENV/.aml-venv-complete"
PACKAGES=(azureml-inference-server-http==1.5.1 scikit-learn==1.9.1 inference-schema)

if [[ ! -f "$STAMP" ]]; then
  if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV" >&2
  fi
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${PACKAGES[@]}" >&2
  "$VENV/bin/python" -c "import azureml_inference_server_http, sklearn, inference_schema" >&2
  printf '%s\n' "${PACKAGES[@]}" > "$STAMP"
fi
echo "$VENV"
