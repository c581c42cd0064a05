/* AArch64 side of the lab workload (the arm64 lab): syscall numbers of the
 * asm-generic table, the raw `svc #0`, the process entry point and a bare
 * thread-creation helper. No libc: everything goes through sys().
 * asm-generic has neither fork nor mkdir: lab.c uses clone(SIGCHLD) and
 * mkdirat(AT_FDCWD, ...) where NR_fork / NR_mkdir are not defined. */
#ifndef LAB_ARCH_AARCH64_H
#define LAB_ARCH_AARCH64_H

#define LAB_ABI "arm64"

#define NR_mkdirat    34
#define NR_openat     56
#define NR_close      57
#define NR_pipe2      59
#define NR_read       63
#define NR_write      64
#define NR_fstat      80
#define NR_exit       93
#define NR_exit_group 94
#define NR_futex      98
#define NR_nanosleep  101
#define NR_clock_gettime 113
#define NR_prctl      167
#define NR_getpid     172
#define NR_getppid    173
#define NR_gettid     178
#define NR_socket     198
#define NR_connect    203
#define NR_clone      220
#define NR_mmap       222
#define NR_wait4      260

/* Six-argument syscall: number in x8, arguments in x0..x5, result in x0. */
static inline long sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a1;
    register long x1 __asm__("x1") = a2;
    register long x2 __asm__("x2") = a3;
    register long x3 __asm__("x3") = a4;
    register long x4 __asm__("x4") = a5;
    register long x5 __asm__("x5") = a6;
    __asm__ volatile("svc #0"
                     : "+r"(x0)
                     : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                     : "memory");
    return x0;
}

/* Process entry: the kernel leaves argc, argv[], NULL, envp[] at sp (16-byte aligned). */
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  mov x29, #0\n"
        "  mov x30, #0\n"
        "  mov x0, sp\n"
        "  bl lab_entry\n"
        "  udf #0\n");

/* clone_thread (rt.h): clone's arm64 argument order is (flags, newsp, ptid, tls,
 * ctid); the child loads fn and arg from its new stack. */
__asm__(".text\n"
        ".globl clone_thread\n"
        "clone_thread:\n"
        "  stp x4, x5, [x1, #-16]!\n"
        "  mov x4, x3\n"
        "  mov x3, #0\n"
        "  mov x8, #220\n"
        "  svc #0\n"
        "  cbnz x0, 1f\n"
        "  ldp x9, x0, [sp], #16\n"
        "  mov x29, #0\n"
        "  blr x9\n"
        "  mov x8, #93\n"
        "  svc #0\n"
        "  udf #0\n"
        "1:\n"
        "  ret\n");

#endif
