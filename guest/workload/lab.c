/* The lab workload: known syscalls with known arguments, each followed by a
 * ground-truth line on stdout (the serial console). Compiled from this one
 * file for each lab: lab64 (x86-64, `syscall`) and lab32 (gcc -m32, `int $0x80`);
 * for the arm64 lab lab64 (aarch64, `svc #0`) and lab32 (AArch32, `svc #0`).
 * The line format is specified in guest/README.md ("Ground truth lines");
 * keep the two in step.
 *
 *   lab64            the default sequence (README: "The lab sequence")
 *   lab64 bench N    N rounds of openat/read/close + fork/wait4, no GT per call
 *   lab64 nanosleep N  N nanosleep(1 us) calls, timed with CLOCK_MONOTONIC
 */
#include "rt.h"

#define AT_FDCWD      (-100)
#define O_RDONLY      0x0
#define O_WRONLY      0x1
#define O_CREAT       0x40
#define O_TRUNC       0x200
#define PROT_READ     0x1
#define PROT_WRITE    0x2
#define MAP_PRIVATE   0x02
#define MAP_ANONYMOUS 0x20
#define PR_SET_NAME   15
#define PR_GET_NAME   16
#define FUTEX_WAIT    0
#define SIGCHLD       17
/* CLONE_VM FS FILES SIGHAND THREAD SYSVSEM PARENT_SETTID CHILD_CLEARTID:
 * what pthread_create passes, minus CLONE_SETTLS (no TLS here). */
#define THREAD_FLAGS  0x350f00UL

#define LAB_DIR     "/tmp/vmitrace-lab"
#define LAB_MISSING "/nonexistent/vmitrace-missing"

struct ident {
    long pid, tid;
};

struct timespec_k {
    long tv_sec, tv_nsec; /* word-sized on both ABIs: old_timespec32 on i386 */
};

static void line_start(struct out *o, const char *what)
{
    o->n = 0;
    out_str(o, "GT " LAB_PROG " ");
    out_str(o, what);
}

static void call_start(struct out *o, const struct ident *id, const char *name, long nr)
{
    line_start(o, "call ");
    out_str(o, name);
    kv_dec(o, "nr", nr);
    kv_dec(o, "pid", id->pid);
    kv_dec(o, "tid", id->tid);
}

/* Reports a no-argument identity call (getpid, gettid, getppid) made earlier. */
static long report_id_call(const struct ident *id, const char *name, long nr, long r)
{
    struct out o;
    call_start(&o, id, name, nr);
    kv_ret(&o, r);
    out_flush(&o);
    return r;
}

static long id_call(const struct ident *id, const char *name, long nr)
{
    return report_id_call(id, name, nr, sys(nr, 0, 0, 0, 0, 0, 0));
}

/* prctl(PR_GET_NAME) into comm[16]; reported as a call line. */
static long get_comm(const struct ident *id, char comm[16])
{
    struct out o;
    long r = sys(NR_prctl, PR_GET_NAME, (long)comm, 0, 0, 0, 0);
    if (r != 0) comm[0] = 0;
    comm[15] = 0;
    call_start(&o, id, "prctl", NR_prctl);
    kv_dec(&o, "option", PR_GET_NAME);
    kv_hex(&o, "arg2", (unsigned long)comm);
    kv_ret(&o, r);
    kv_str(&o, "name", comm);
    out_flush(&o);
    return r;
}

/* exit/exit_group cannot report afterwards: their line comes first. */
static void __attribute__((noreturn)) do_exit(const struct ident *id, const char *name, long nr, long code)
{
    struct out o;
    call_start(&o, id, name, nr);
    kv_dec(&o, "error_code", code);
    out_flush(&o);
    for (;;) sys(nr, code, 0, 0, 0, 0, 0);
}

static long do_openat(const struct ident *id, const char *path, long flags, long mode)
{
    struct out o;
    long r = sys(NR_openat, AT_FDCWD, (long)path, flags, mode, 0, 0);
    call_start(&o, id, "openat", NR_openat);
    kv_dec(&o, "dfd", AT_FDCWD);
    kv_str(&o, "filename", path);
    kv_hex(&o, "flags", (unsigned long)flags);
    kv_hex(&o, "mode", (unsigned long)mode);
    kv_ret(&o, r);
    out_flush(&o);
    return r;
}

static long do_close(const struct ident *id, long fd)
{
    struct out o;
    long r = sys(NR_close, fd, 0, 0, 0, 0, 0);
    call_start(&o, id, "close", NR_close);
    kv_dec(&o, "fd", fd);
    kv_ret(&o, r);
    out_flush(&o);
    return r;
}

/* asm-generic tables (arm64) have no mkdir and no fork: mkdirat(AT_FDCWD, ...)
 * and clone(SIGCHLD, 0, ...) stand in for them there, under their own names. */
static long make_lab_dir(void)
{
#ifdef NR_mkdir
    return sys(NR_mkdir, (long)LAB_DIR, 0755, 0, 0, 0, 0);
#else
    return sys(NR_mkdirat, AT_FDCWD, (long)LAB_DIR, 0755, 0, 0, 0);
#endif
}

static long fork_child(void)
{
#ifdef NR_fork
    return sys(NR_fork, 0, 0, 0, 0, 0, 0);
#else
    return sys(NR_clone, SIGCHLD, 0, 0, 0, 0, 0);
#endif
}

static void file_round_trip(const struct ident *id)
{
    struct out o;
    static const char payload[] = LAB_PAYLOAD;
    char buf[64];

    long r = make_lab_dir();
#ifdef NR_mkdir
    call_start(&o, id, "mkdir", NR_mkdir);
#else
    call_start(&o, id, "mkdirat", NR_mkdirat);
    kv_dec(&o, "dfd", AT_FDCWD);
#endif
    kv_str(&o, "pathname", LAB_DIR);
    kv_hex(&o, "mode", 0755);
    kv_ret(&o, r);
    out_flush(&o);

    long fd = do_openat(id, LAB_FILE, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    r = sys(NR_write, fd, (long)payload, (long)(sizeof payload - 1), 0, 0, 0);
    call_start(&o, id, "write", NR_write);
    kv_dec(&o, "fd", fd);
    kv_hex(&o, "buf", (unsigned long)payload);
    kv_dec(&o, "count", (long)(sizeof payload - 1));
    kv_ret(&o, r);
    kv_mem(&o, "data", payload, sizeof payload - 1);
    out_flush(&o);
    do_close(id, fd);

    fd = do_openat(id, LAB_FILE, O_RDONLY, 0);
    r = sys(NR_read, fd, (long)buf, (long)sizeof buf, 0, 0, 0);
    call_start(&o, id, "read", NR_read);
    kv_dec(&o, "fd", fd);
    kv_hex(&o, "buf", (unsigned long)buf);
    kv_dec(&o, "count", (long)sizeof buf);
    kv_ret(&o, r);
    kv_mem(&o, "data", buf, r > 0 ? (unsigned long)r : 0);
    out_flush(&o);
    do_close(id, fd);
}

static void map_memory(const struct ident *id)
{
    struct out o;
    long r = sys(NR_mmap, 0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    call_start(&o, id, MMAP_NAME, NR_mmap);
    kv_hex(&o, "addr", 0);
    kv_dec(&o, "len", 8192);
    kv_hex(&o, "prot", PROT_READ | PROT_WRITE);
    kv_hex(&o, "flags", MAP_PRIVATE | MAP_ANONYMOUS);
    kv_dec(&o, "fd", -1);
    kv_dec(&o, MMAP_OFF_NAME, 0);
    if (r < 0 && r >= -4095) kv_ret(&o, r);
    else kv_hex(&o, "ret", (unsigned long)r);
    out_flush(&o);
    if (r > 0 || r < -4095) ((volatile char *)r)[8191] = 1; /* the mapping is usable */
}

static void rename_self(const struct ident *id)
{
    struct out o;
    static const char name[] = LAB_RENAMED;
    char comm[16];
    long r = sys(NR_prctl, PR_SET_NAME, (long)name, 0, 0, 0, 0);
    call_start(&o, id, "prctl", NR_prctl);
    kv_dec(&o, "option", PR_SET_NAME);
    kv_hex(&o, "arg2", (unsigned long)name);
    kv_ret(&o, r);
    kv_str(&o, "name", name);
    out_flush(&o);

    get_comm(id, comm);
    line_start(&o, "comm");
    kv_dec(&o, "pid", id->pid);
    kv_dec(&o, "tid", id->tid);
    kv_word(&o, "comm", comm);
    out_flush(&o);
}

static void short_sleep(const struct ident *id)
{
    struct out o;
    struct timespec_k ts = {0, 20000000};
    long r = sys(NR_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
    call_start(&o, id, "nanosleep", NR_nanosleep);
    kv_hex(&o, "rqtp", (unsigned long)&ts);
    kv_hex(&o, "rmtp", 0);
    kv_dec(&o, "tv_sec", 0);
    kv_dec(&o, "tv_nsec", 20000000);
    kv_ret(&o, r);
    out_flush(&o);
}

static void child_process(const struct ident *id)
{
    struct out o;
    int status = 0;
    long pid = fork_child();
    if (pid == 0) {
        struct ident me = {0, 0};
        me.pid = sys(NR_getpid, 0, 0, 0, 0, 0, 0);
        me.tid = me.pid;
        report_id_call(&me, "getpid", NR_getpid, me.pid);
        long ppid = id_call(&me, "getppid", NR_getppid);
        line_start(&o, "child");
        kv_dec(&o, "pid", me.pid);
        kv_dec(&o, "tid", me.tid);
        kv_dec(&o, "ppid", ppid);
        out_flush(&o);
        do_exit(&me, "exit_group", NR_exit_group, 7);
    }
#ifdef NR_fork
    call_start(&o, id, "fork", NR_fork);
#else
    call_start(&o, id, "clone", NR_clone);
    kv_hex(&o, "clone_flags", SIGCHLD);
#endif
    kv_ret(&o, pid);
    out_flush(&o);
    if (pid < 0) return;

    long r;
    do {
        r = sys(NR_wait4, pid, (long)&status, 0, 0, 0, 0);
        call_start(&o, id, "wait4", NR_wait4);
        kv_dec(&o, WAIT4_PID_NAME, pid);
        kv_hex(&o, "stat_addr", (unsigned long)&status);
        kv_dec(&o, "options", 0);
        kv_hex(&o, "ru", 0);
        kv_ret(&o, r);
        if (r == pid) {
            kv_hex(&o, "status", (unsigned long)(unsigned)status);
            kv_dec(&o, "exit_code", (status >> 8) & 0xff);
        }
        out_flush(&o);
    } while (r == -4); /* EINTR: one line per attempt */
}

static char thread_stack[16384] __attribute__((aligned(16)));
static volatile int thread_tid;

static long thread_main(void *arg)
{
    const struct ident *parent = arg;
    struct ident me = {parent->pid, 0};
    struct out o;
    me.tid = sys(NR_gettid, 0, 0, 0, 0, 0, 0);
    report_id_call(&me, "gettid", NR_gettid, me.tid);
    id_call(&me, "getpid", NR_getpid);
    line_start(&o, "thread");
    kv_dec(&o, "pid", me.pid);
    kv_dec(&o, "tid", me.tid);
    out_flush(&o);
    /* clone_thread ends the thread with exit(0) right after we return. */
    call_start(&o, &me, "exit", NR_exit);
    kv_dec(&o, "error_code", 0);
    out_flush(&o);
    return 0;
}

static void second_thread(const struct ident *id)
{
    struct out o;
    long tid = clone_thread(THREAD_FLAGS, thread_stack + sizeof thread_stack,
                            (int *)&thread_tid, (int *)&thread_tid, thread_main, (void *)id);
    call_start(&o, id, "clone", NR_clone);
    kv_hex(&o, "clone_flags", THREAD_FLAGS);
    kv_ret(&o, tid);
    out_flush(&o);
    if (tid < 0) return;

    /* CLONE_CHILD_CLEARTID: the kernel zeroes thread_tid and wakes the futex
     * when the thread exits. */
    int v;
    while ((v = thread_tid) != 0) {
        long r = sys(NR_futex, (long)&thread_tid, FUTEX_WAIT, v, 0, 0, 0);
        call_start(&o, id, "futex", NR_futex);
        kv_hex(&o, "uaddr", (unsigned long)&thread_tid);
        kv_dec(&o, "op", FUTEX_WAIT);
        kv_dec(&o, "val", v);
        kv_ret(&o, r);
        out_flush(&o);
    }
    line_start(&o, "thread-joined");
    kv_dec(&o, "tid", tid);
    out_flush(&o);
}

/* For the tracer's fd paths, out arguments and structures (issue 4), at the end of
 * the sequence: pipe2 (two fds at return, "pipe:[ino]" paths), fstat of the read
 * end (struct stat at return: S_IFIFO), and a TCP connect to 127.0.0.1:9 (a
 * sockaddr at entry; nothing listens: ECONNREFUSED, or ENETUNREACH without lo). */
static void fd_extras(const struct ident *id)
{
    struct out o;
    int fds[2] = {-1, -1};
    char st[160];
    /* struct sockaddr_in: AF_INET, port 9 (network order), 127.0.0.1 */
    static const unsigned char sin[16] = {2, 0, 0, 9, 127, 0, 0, 1};

    long r = sys(NR_pipe2, (long)fds, 0, 0, 0, 0, 0);
    call_start(&o, id, "pipe2", NR_pipe2);
    kv_ret(&o, r);
    kv_dec(&o, "fd0", fds[0]);
    kv_dec(&o, "fd1", fds[1]);
    out_flush(&o);

    r = sys(NR_fstat, fds[0], (long)st, 0, 0, 0, 0);
    call_start(&o, id, "fstat", NR_fstat);
    kv_dec(&o, "fd", fds[0]);
    kv_ret(&o, r);
    out_flush(&o);
    do_close(id, fds[0]);
    do_close(id, fds[1]);

    long s = sys(NR_socket, 2 /* AF_INET */, 1 /* SOCK_STREAM */, 0, 0, 0, 0);
    call_start(&o, id, "socket", NR_socket);
    kv_ret(&o, s);
    out_flush(&o);
    r = sys(NR_connect, s, (long)sin, (long)sizeof sin, 0, 0, 0);
    call_start(&o, id, "connect", NR_connect);
    kv_dec(&o, "fd", s);
    kv_ret(&o, r);
    out_flush(&o);
    do_close(id, s);
}

static int run_lab(void)
{
    struct out o;
    struct ident id = {0, 0};
    char comm[16];

    id.pid = sys(NR_getpid, 0, 0, 0, 0, 0, 0);
    id.tid = sys(NR_gettid, 0, 0, 0, 0, 0, 0);
    long ppid = sys(NR_getppid, 0, 0, 0, 0, 0, 0);
    line_start(&o, "start");
    kv_dec(&o, "pid", id.pid);
    kv_dec(&o, "tid", id.tid);
    kv_dec(&o, "ppid", ppid);
    kv_word(&o, "abi", LAB_ABI);
    out_flush(&o);
    report_id_call(&id, "getpid", NR_getpid, id.pid);
    report_id_call(&id, "gettid", NR_gettid, id.tid);
    report_id_call(&id, "getppid", NR_getppid, ppid);
    get_comm(&id, comm);
    line_start(&o, "comm");
    kv_dec(&o, "pid", id.pid);
    kv_dec(&o, "tid", id.tid);
    kv_word(&o, "comm", comm);
    out_flush(&o);

    file_round_trip(&id);
    do_openat(&id, LAB_MISSING, O_RDONLY, 0);
    map_memory(&id);
    rename_self(&id);
    short_sleep(&id);
    child_process(&id);
    second_thread(&id);
    fd_extras(&id);

    line_start(&o, "end");
    kv_dec(&o, "pid", id.pid);
    out_flush(&o);
    do_exit(&id, "exit_group", NR_exit_group, 0);
}

/* Syscall-heavy loop for benchmarks: output only at start and end. */
static int run_bench(long rounds)
{
    struct out o;
    static const char payload[] = LAB_PAYLOAD;
    char buf[64];
    int status;
    long pid = sys(NR_getpid, 0, 0, 0, 0, 0, 0);

    make_lab_dir();
    long fd = sys(NR_openat, AT_FDCWD, (long)LAB_FILE, O_CREAT | O_WRONLY | O_TRUNC, 0644, 0, 0);
    if (fd >= 0) {
        sys(NR_write, fd, (long)payload, (long)(sizeof payload - 1), 0, 0, 0);
        sys(NR_close, fd, 0, 0, 0, 0, 0);
    }
    line_start(&o, "bench start");
    kv_dec(&o, "pid", pid);
    kv_dec(&o, "rounds", rounds);
    out_flush(&o);
    long failures = 0;
    for (long i = 0; i < rounds; i++) {
        fd = sys(NR_openat, AT_FDCWD, (long)LAB_FILE, O_RDONLY, 0, 0, 0);
        if (fd < 0 || sys(NR_read, fd, (long)buf, (long)sizeof buf, 0, 0, 0) <= 0) failures++;
        if (fd >= 0) sys(NR_close, fd, 0, 0, 0, 0, 0);
        long child = fork_child();
        if (child == 0) for (;;) sys(NR_exit_group, 0, 0, 0, 0, 0, 0);
        if (child < 0) { failures++; continue; }
        while (sys(NR_wait4, child, (long)&status, 0, 0, 0, 0) == -4) {}
    }
    line_start(&o, "bench end");
    kv_dec(&o, "pid", pid);
    kv_dec(&o, "rounds", rounds);
    kv_dec(&o, "failures", failures);
    out_flush(&o);
    return failures ? 1 : 0;
}

/* The cost of one nanosleep as the guest sees it (the README reports it traced and
 * untraced): N sleeps of 1 us, timed by the guest's monotonic clock. */
static int run_nanosleep(long n)
{
    struct out o;
    struct timespec_k t0, t1, ts = {0, 1000};
    sys(NR_clock_gettime, 1 /* CLOCK_MONOTONIC */, (long)&t0, 0, 0, 0, 0);
    for (long i = 0; i < n; i++) sys(NR_nanosleep, (long)&ts, 0, 0, 0, 0, 0);
    sys(NR_clock_gettime, 1, (long)&t1, 0, 0, 0, 0);
    long ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
    line_start(&o, "nanosleep");
    kv_dec(&o, "calls", n);
    kv_dec(&o, "total_us", ns / 1000);
    kv_dec(&o, "per_call_ns", n > 0 ? ns / n : 0);
    out_flush(&o);
    return 0;
}

void __attribute__((noreturn, used)) lab_entry(long *sp)
{
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    int rc;
    if (argc >= 3 && str_eq(argv[1], "bench")) rc = run_bench(str_to_long(argv[2]));
    else if (argc >= 3 && str_eq(argv[1], "nanosleep")) rc = run_nanosleep(str_to_long(argv[2]));
    else if (argc >= 2) {
        struct out o;
        line_start(&o, "usage: " LAB_PROG " [bench ROUNDS | nanosleep CALLS]");
        out_flush(&o);
        rc = 2;
    } else rc = run_lab();
    for (;;) sys(NR_exit_group, rc, 0, 0, 0, 0, 0);
}
