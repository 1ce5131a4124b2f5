// LD_PRELOAD library: the libraries a program loads (onnxruntime's MLAS, oneDNN, PyTorch's ATen, V8) see a CPU without
// AVX-512, VNNI of any kind and AMX, the int8 and wide kernels an AVX2-only CPU lacks (other features stay as the CPU
// reports them), and run natively: an AVX-512 host can then time the kernels an AVX2-only host would run (issue 30).
// Written by hand because no packaged tool masks CPUID natively (qemu's -cpu Haswell emulates every instruction and
// distorts timings).
//
// How: Linux's ARCH_SET_CPUID (CPUs with cpuid_fault) makes CPUID fault; the fault handler runs the real CPUID with
// faulting briefly off and clears those bits. The setting is per thread, inherited by threads made later, and reset by
// execve (LD_PRELOAD then runs this again in the new program). Programs reset or install SIGSEGV handlers of their own
// (node resets every signal at start, then V8 adds its wasm trap handler), so sigaction and signal are interposed for
// SIGSEGV: the program's handler is kept here, with its mask and flags, and called for every other SIGSEGV.
//
// Limits: a CPUID run while SIGSEGV is blocked (sigprocmask, or inside a handler whose mask holds SIGSEGV) kills the
// process, as the kernel does with any blocked fault. ld.so reads the CPU before this library's constructor runs, so
// glibc's own string functions keep their AVX-512 versions unless GLIBC_TUNABLES says otherwise (tools/avx2-native.sh
// does). XGETBV still reports the AVX-512 register state: libraries check CPUID's feature bits with it, not instead.
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

typedef int sigaction_fn(int, const struct sigaction *, struct sigaction *);
typedef sighandler_t signal_fn(int, sighandler_t);
static sigaction_fn *real_sigaction;
static signal_fn *real_signal;
static struct sigaction program;  // the SIGSEGV action the program believes is installed
static int installed;
static pid_t owner;  // the process `program` belongs to
static volatile long emulated;

static long cpuid_faulting(int on) { return syscall(SYS_arch_prctl, ARCH_SET_CPUID, on ? 0 : 1); }

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

// Bit positions from Intel's SDM vol. 2A, CPUID (leaf 7, leaf 0xD), as Linux's asm/cpufeatures.h names them.
static void mask_features(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
  if (leaf == 7 && sub == 0) {
    // EBX: AVX512F 16, DQ 17, IFMA 21, PF 26, ER 27, CD 28, BW 30, VL 31.
    r[1] &= ~((1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 30) | (1u << 31));
    // ECX: VBMI 1, VBMI2 6, VNNI 11, BITALG 12, VPOPCNTDQ 14.
    r[2] &= ~((1u << 1) | (1u << 6) | (1u << 11) | (1u << 12) | (1u << 14));
    // EDX: 4VNNIW 2, 4FMAPS 3, VP2INTERSECT 8, AMX-BF16 22, FP16 23, AMX-TILE 24, AMX-INT8 25.
    r[3] &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 22) | (1u << 23) | (1u << 24) | (1u << 25));
  } else if (leaf == 7 && sub == 1) {
    // EAX: AVX-VNNI 4, AVX512_BF16 5, AMX-FP16 21, AVX-IFMA 23.
    r[0] &= ~((1u << 4) | (1u << 5) | (1u << 21) | (1u << 23));
    // EDX: AVX-VNNI-INT8 4, AVX-NE-CONVERT 5, AMX-COMPLEX 8, AVX-VNNI-INT16 10, AVX10 19.
    r[3] &= ~((1u << 4) | (1u << 5) | (1u << 8) | (1u << 10) | (1u << 19));
  } else if (leaf == 0xD && sub == 0) {
    // Supported XSAVE state: opmask 5, ZMM_Hi256 6, Hi16_ZMM 7, AMX XTILECFG 17, XTILEDATA 18.
    r[0] &= ~((1u << 5) | (1u << 6) | (1u << 7) | (1u << 17) | (1u << 18));
  }
}

// The two bytes at the faulting instruction, or 0 where they cannot be read (a jump to an unmapped address).
static int is_cpuid_at(uintptr_t ip) {
  uint8_t bytes[2];
  struct iovec local = {bytes, 2}, remote = {(void *)ip, 2};
  return syscall(SYS_process_vm_readv, getpid(), &local, 1UL, &remote, 1UL, 0UL) == 2 && bytes[0] == 0x0F && bytes[1] == 0xA2;
}

static void on_segv(int sig, siginfo_t *info, void *context);

// The real handler: ours, with the program's mask and the flags that change how a handler runs.
static int install(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_segv;
  action.sa_flags = SA_SIGINFO | (program.sa_flags & (SA_NODEFER | SA_RESTART | SA_ONSTACK));
  action.sa_mask = program.sa_mask;
  return real_sigaction(SIGSEGV, &action, NULL);
}

static void on_segv(int sig, siginfo_t *info, void *context) {
  int saved = errno;
  greg_t *regs = ((ucontext_t *)context)->uc_mcontext.gregs;
  // A faulting CPUID arrives as a general protection fault (SI_KERNEL).
  if (info->si_code == SI_KERNEL && is_cpuid_at((uintptr_t)regs[REG_RIP])) {
    uint32_t leaf = (uint32_t)regs[REG_RAX], sub = (uint32_t)regs[REG_RCX], r[4];
    cpuid_faulting(0);
    cpuid(leaf, sub, r);
    cpuid_faulting(1);
    mask_features(leaf, sub, r);
    regs[REG_RAX] = r[0];
    regs[REG_RBX] = r[1];
    regs[REG_RCX] = r[2];
    regs[REG_RDX] = r[3];
    regs[REG_RIP] += 2;
    emulated++;
    errno = saved;
    return;
  }
  struct sigaction now = program;
  if (now.sa_flags & SA_RESETHAND) {
    memset(&program, 0, sizeof program);
    program.sa_handler = SIG_DFL;
  }
  if (now.sa_handler == SIG_IGN && info->si_code <= 0) {
    // A sent SIGSEGV the program ignores.
  } else if (now.sa_handler == SIG_DFL || now.sa_handler == SIG_IGN) {
    // The default action (a fault cannot be ignored): sent again, it stays pending until this handler returns, then kills.
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    real_sigaction(SIGSEGV, &dfl, NULL);
    raise(SIGSEGV);
  } else if (now.sa_flags & SA_SIGINFO) {
    now.sa_sigaction(sig, info, context);
  } else {
    now.sa_handler(sig);
  }
  errno = saved;
}

static void resolve(void) {
  if (!real_sigaction) real_sigaction = (sigaction_fn *)dlsym(RTLD_NEXT, "sigaction");
  if (!real_signal) real_signal = (signal_fn *)dlsym(RTLD_NEXT, "signal");
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old) {
  resolve();
  if (sig != SIGSEGV || !installed) return real_sigaction(sig, act, old);
  if (getpid() != owner) {
    // A vfork or clone child (Python's subprocess resets every handler in one) shares `program` with its parent: it
    // leaves that alone, and sees the real CPUID, since its handlers are its own from here on.
    cpuid_faulting(0);
    return real_sigaction(sig, act, old);
  }
  struct sigaction next = act ? *act : program;
  if (old) *old = program;
  if (!act) return 0;
  program = next;
  return install();
}

// glibc's other names for installing a handler, which call its internal sigaction rather than this one (sigset, with
// its SIG_HOLD, is not covered: a program that sets SIGSEGV's handler with it loses this library's).
int __sigaction(int sig, const struct sigaction *act, struct sigaction *old) { return sigaction(sig, act, old); }
static sighandler_t with_flags(int sig, sighandler_t handler, int flags) {
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  act.sa_flags = flags;
  sigemptyset(&act.sa_mask);
  return sigaction(sig, &act, &old) == 0 ? old.sa_handler : SIG_ERR;
}
sighandler_t bsd_signal(int sig, sighandler_t handler) { return sig == SIGSEGV ? with_flags(sig, handler, SA_RESTART) : signal(sig, handler); }
sighandler_t ssignal(int sig, sighandler_t handler) { return bsd_signal(sig, handler); }
sighandler_t sysv_signal(int sig, sighandler_t handler) { return with_flags(sig, handler, SA_RESETHAND | SA_NODEFER); }
sighandler_t __sysv_signal(int sig, sighandler_t handler) { return sysv_signal(sig, handler); }
int sigignore(int sig) { return with_flags(sig, SIG_IGN, 0) == SIG_ERR ? -1 : 0; }

sighandler_t signal(int sig, sighandler_t handler) {
  resolve();
  if (sig != SIGSEGV || !installed) return real_signal(sig, handler);
  struct sigaction act, old;
  memset(&act, 0, sizeof act);
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART;  // glibc's signal() has BSD semantics
  sigemptyset(&act.sa_mask);
  return sigaction(sig, &act, &old) == 0 ? old.sa_handler : SIG_ERR;
}

// A fork child has its own copy of `program` (and of the handlers): it is the owner now.
static void forked(void) { owner = getpid(); }

static void report(void) {
  if (getenv("CPUID_AVX2_VERBOSE")) fprintf(stderr, "cpuid-avx2: %d: %ld CPUID instructions answered\n", getpid(), emulated);
}

__attribute__((constructor)) static void start(void) {
  resolve();
  // Threads started before this constructor (by a library preloaded before this one) would see the real CPUID.
  DIR *tasks = opendir("/proc/self/task");
  int threads = 0;
  for (struct dirent *e; tasks && (e = readdir(tasks));) threads += e->d_name[0] != '.';
  if (tasks) closedir(tasks);
  if (threads > 1) fprintf(stderr, "cpuid-avx2: %d threads already run, and they see the real CPUID: put this library first in LD_PRELOAD\n", threads);
  real_sigaction(SIGSEGV, NULL, &program);
  if (install() != 0 || cpuid_faulting(1) != 0) {
    fprintf(stderr, "cpuid-avx2: this CPU or kernel cannot make CPUID fault (cpuid_fault in /proc/cpuinfo; arch_prctl allowed)\n");
    _exit(3);
  }
  owner = getpid();
  pthread_atfork(NULL, NULL, forked);
  installed = 1;
  atexit(report);
}
