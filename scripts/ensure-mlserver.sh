#!/usr/bin/env bash
# Make sure MLServer 1.7.1 (with its scikit-learn runtime) is installed in its OWN virtual env,
# .cache/mlserver-venv, for the OIP tests and benchmarks (make test calls this).
#
# A separate env: MLServer pins its own FastAPI/uvicorn/protobuf stack, which must not decide
# the project's versions. scikit-learn is pinned to the project's version, so an estimator
# exported by `rendezvous train --export-mlserver` unpickles there exactly as it was fitted.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${RENDEZVOUS_MLSERVER_VENV:-.cache/mlserver-venv}"
PROJECT_PYTHON="${PROJECT_PYTHON:-.venv/bin/python}"
MLSERVER_VERSION=1.7.1

if [ ! -x "$PROJECT_PYTHON" ]; then
  echo "ensure-mlserver: $PROJECT_PYTHON is missing; run 'make install' first" >&2
  exit 1
fi
SKLEARN_VERSION="$("$PROJECT_PYTHON" -c 'import sklearn; print(sklearn.__version__)')"
WANT="mlserver==$MLSERVER_VERSION mlserver-sklearn==$MLSERVER_VERSION scikit-learn==$SKLEARN_VERSION"
STAMP="$VENV/.installed-stamp"
if [ -x "$VENV/bin/mlserver" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  exit 0
fi
echo "installing $WANT into $VENV ..."
# The same interpreter as the project's env (MLServer 1.7.1 supports Python 3.9-3.12).
BASE_PYTHON="$("$PROJECT_PYTHON" -c 'import sys; print(sys._base_executable)')"
rm -rf "$VENV"
"$BASE_PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# shellcheck disable=SC2086  # WANT is a list of requirements
"$VENV/bin/python" -m pip install --quiet $WANT
"$VENV/bin/mlserver" --version
echo "$WANT" >"$STAMP"
