#!/usr/bin/env bash
# Runs numeric test files on an emulated AVX2-only CPU (qemu user mode, -cpu Haswell: no AVX-512, no VNNI), so
# tests whose results depend on onnxruntime's int8 kernels can be checked on the other kernel family than the host's.
# Usage: tools/avx2-check.sh [test files...]   (default: test/backbones/shared-model.test.ts; needs ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v qemu-x86_64 >/dev/null || apt-get install -y --no-install-recommends qemu-user >/dev/null
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(test/backbones/shared-model.test.ts)
# Each file runs as a plain script (node:test runs it in that process; `node --test` would spawn children that qemu does
# not emulate), with image preparation on the main thread.
for f in "${files[@]}"; do
  REPROBE_PREPARE_THREAD=0 qemu-x86_64 -cpu Haswell "$(command -v node)" --import tsx "$f" 2> >(grep -v "TCG doesn't support" >&2)
done
