#!/usr/bin/env bash
# Runs a command with every library in it seeing a CPU without AVX-512 (tools/avx2-only/cpuid-avx2.c, LD_PRELOAD),
# natively, so that an AVX-512 host can time the kernels an AVX2-only host runs: onnxruntime's MLAS, oneDNN and
# PyTorch's ATen pick their AVX2 kernels (issue 30's goals must hold on both kinds). tools/avx2-check.sh emulates a
# Haswell instead (qemu): right for numeric checks, far too slow for timings.
# Usage: tools/avx2-native.sh <command> [args...]   e.g. tools/avx2-native.sh npm run bench:finetune
# Needs gcc and a CPU with cpuid_fault (/proc/cpuinfo flags); CPUID_AVX2_VERBOSE=1 prints how many CPUIDs each process asked.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -gt 0 ] || { echo "usage: tools/avx2-native.sh <command> [args...]" >&2; exit 2; }
grep -qw cpuid_fault /proc/cpuinfo || { echo "avx2-native: this CPU cannot make CPUID fault (no cpuid_fault in /proc/cpuinfo)" >&2; exit 3; }
command -v gcc >/dev/null || apt-get install -y -q gcc >/dev/null
src="$root/tools/avx2-only/cpuid-avx2.c"
lib="$root/node_modules/.cache/reprobe/cpuid-avx2-$(sha256sum "$src" | cut -c1-16).so"
if [ ! -f "$lib" ]; then
  mkdir -p "$(dirname "$lib")"
  gcc -O2 -Wall -Wextra -shared -fPIC -o "$lib.tmp.$$" "$src" && mv "$lib.tmp.$$" "$lib"
fi
export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
exec "$@"
