#!/usr/bin/env bash
# Runs a command with the libraries it loads seeing a CPU without AVX-512, VNNI and AMX (tools/avx2-only/cpuid-avx2.c,
# LD_PRELOAD), natively, so that an AVX-512 host can time the kernels an AVX2-only host runs: onnxruntime's MLAS,
# oneDNN and PyTorch's ATen pick their AVX2 kernels (issue 30's goals must hold on both kinds). tools/avx2-check.sh
# emulates a Haswell instead (qemu): right for numeric checks, far too slow for timings.
# Usage: tools/avx2-native.sh <command> [args...]   e.g. tools/avx2-native.sh npm run bench:finetune
# Needs gcc and a CPU with cpuid_fault (/proc/cpuinfo flags); CPUID_AVX2_VERBOSE=1 prints how many CPUIDs each process
# asked. Limits: see the library's header.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
[ $# -gt 0 ] || { echo "usage: tools/avx2-native.sh <command> [args...]" >&2; exit 2; }
grep -qw cpuid_fault /proc/cpuinfo || { echo "avx2-native: this CPU cannot make CPUID fault (no cpuid_fault in /proc/cpuinfo)" >&2; exit 3; }
command -v gcc >/dev/null || { echo "avx2-native: needs gcc to build its library (apt-get install gcc)" >&2; exit 3; }
src="$root/tools/avx2-only/cpuid-avx2.c"
lib="$root/node_modules/.cache/reprobe/cpuid-avx2-$(sha256sum "$src" | cut -c1-16).so"
# ld.so ignores an LD_PRELOAD entry with a space or a colon in its path (it separates entries), and says so only once.
case "$lib" in *[[:space:]:]*) echo "avx2-native: the checkout's path has a space or a colon, which LD_PRELOAD cannot hold: $lib" >&2; exit 3 ;; esac
if [ ! -f "$lib" ]; then
  mkdir -p "$(dirname "$lib")"
  gcc -O2 -Wall -Wextra -shared -fPIC -o "$lib.tmp.$$" "$src" && mv "$lib.tmp.$$" "$lib"
fi
# First in LD_PRELOAD: a library preloaded before it could start threads that see the real CPUID.
export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
# glibc reads the CPU before any preloaded library runs: its own string functions leave AVX-512 by this tunable (the
# names glibc 2.36 honours).
export GLIBC_TUNABLES="${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD"
exec "$@"
