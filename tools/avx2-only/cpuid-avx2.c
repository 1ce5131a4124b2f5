// LD_PRELOAD library: every library in the process (onnxruntime's MLAS, oneDNN, PyTorch's ATen, V8) sees a CPU
// without AVX-512 and without VNNI of either kind, as Haswell to Skylake client CPUs are, and runs natively: an
// AVX-512 host can then time the kernels an AVX2-only host would run (issue 30). Written by hand because no packaged
// tool masks CPUID natively (qemu's -cpu Haswell emulates every instruction and distorts timings). How: Linux's
// ARCH_SET_CPUID (CPUs with cpuid_fault) makes CPUID fault; the fault handler runs the real CPUID with faulting briefly
// off and clears those bits. The setting is per thread, inherited by threads made later, and reset by execve
// (LD_PRELOAD then runs this again in the new program). Programs reset or install SIGSEGV handlers of their own (node
// resets every signal at start, then V8 adds its wasm trap handler), so sigaction and signal are interposed for
// SIGSEGV: the program's handler is kept here and called for every other fault.
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

typedef int sigaction_fn(int, const struct sigaction *, struct sigaction *);
static sigaction_fn *real_sigaction;
static struct sigaction program;  // the SIGSEGV action the program believes is installed
static int installed;
static volatile long emulated;

static long cpuid_faulting(int on) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, on ? 0 : 1); }

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

// Leaf 7 bit positions from Intel's SDM vol. 2A, CPUID, table 3-8 (and AMD's APM vol. 3, appendix E).
static void mask_avx512(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  if (leaf == 7 && sub == 0) {
    // EBX: AVX512F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31.
    r[1] &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31));
    // ECX: VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14.
    r[2] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
    // EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, AMX-BF16 22, FP16 23, AMX-TILE 24, AMX-INT8 25.
    r[3] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25));
  } else if (leaf == 7 && sub == 1) {
    // EAX: AVX-VNNI 4, AVX512_BF16 5, AVX-IFMA 23; EDX: AVX-VNNI-INT8 4, AVX-NE-CONVERT 5, AVX10 19.
    r[0] &= ~((1u << 4) | (1u << 5) | (1u << 23));
    r[3] &= ~((1u << 4) | (1u << 5) | (1u << 19));
  } else if (leaf == 0xD && sub == 0) {
    r[0] &= ~0xE0u;  // XSAVE state components 5-7 (opmask, ZMM0-15 upper halves, ZMM16-31)
  }
}

static void on_segv(int sig, siginfo_t *info, void *context) {
  ucontext_t *uc = context;
  greg_t *regs = uc->uc_mcontext.gregs;
  const uint8_t *ip = (const uint8_t *)regs[REG_RIP];
  // A faulting CPUID arrives as a general protection fault (SI_KERNEL); only then is the instruction pointer readable.
  if (info->si_code == SI_KERNEL && ip[0] == 0x0F && ip[1] == 0xA2) {
    uint32_t leaf = (uint32_t)regs[REG_RAX], sub = (uint32_t)regs[REG_RCX], r[4];
    cpuid_faulting(0);
    cpuid(leaf, sub, r);
    cpuid_faulting(1);
    mask_avx512(leaf, sub, r);
    regs[REG_RAX] = r[0];
    regs[REG_RBX] = r[1];
    regs[REG_RCX] = r[2];
    regs[REG_RDX] = r[3];
    regs[REG_RIP] += 2;
    emulated++;
    return;
  }
  if (program.sa_flags & SA_SIGINFO) {
    program.sa_sigaction(sig, info, context);
  } else if (program.sa_handler != SIG_DFL && program.sa_handler != SIG_IGN) {
    program.sa_handler(sig);
  } else {
    // A fault re-executes its instruction on return and the default action then applies; a sent signal is sent again.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    real_sigaction(SIGSEGV, &dfl, NULL);
    if (info->si_code <= 0) raise(SIGSEGV);
  }
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  if (!real_sigaction) real_sigaction = (sigaction_fn *)dlsym(RTLD_NEXT, "sigaction");
  if (sig != SIGSEGV || !installed) return real_sigaction(sig, act, old);
  if (old) *old = program;
  if (act) program = *act;
  return 0;
}

sighandler_t signal(int sig, sighandler_t handler) {
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART;
  sigemptyset(&act.sa_mask);
  return sigaction(sig, &act, &old) == 0 ? old.sa_handler : SIG_ERR;
}

static void report(void) {
  if (getenv("CPUID_AVX2_VERBOSE")) fprintf(stderr, "cpuid-avx2: %d: %ld CPUID instructions answered\n", getpid(), emulated);
}

__attribute__((constructor)) static void start(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_segv;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  if (!real_sigaction) real_sigaction = (sigaction_fn *)dlsym(RTLD_NEXT, "sigaction");
  real_sigaction(SIGSEGV, &action, &program);
  installed = 1;
  if (cpuid_faulting(1) != 0) {
    fprintf(stderr, "cpuid-avx2: this CPU or kernel cannot make CPUID fault (no cpuid_fault in /proc/cpuinfo)\n");
    _exit(3);
  }
  atexit(report);
}
