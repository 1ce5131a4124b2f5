#!/usr/bin/env bash
# The reference-tooling venv (tools/python/requirements.txt) from the machine's configured package index
# (`pip config list`); never needed by the README's two commands. Prints the library versions it got.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${REPROBE_VENV:-.venv-ref}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null || PY=python3
if [ ! -x "$VENV/bin/python" ]; then "$PY" -m venv "$VENV"; fi
# --retries 0: an unreachable default index fails at once instead of backing off; the local index answers.
"$VENV/bin/pip" install -q --retries 0 -r tools/python/requirements.txt
"$VENV/bin/python" - <<'PY'
import importlib
for name in ["torch", "transformers", "onnx", "onnxruntime", "sklearn", "scipy", "numpy", "PIL"]:
    m = importlib.import_module(name)
    print(f"{name} {getattr(m, '__version__', '?')}")
PY
