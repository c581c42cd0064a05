/* x86-64 side of the lab workload: syscall numbers, the raw `syscall`
 * instruction, the process entry point and a bare thread-creation helper.
 * No libc: everything the program needs from the kernel goes through sys(). */
#ifndef LAB_ARCH_X86_64_H
#define LAB_ARCH_X86_64_H

#define LAB_ABI "x64"

#define NR_read       0
#define NR_write      1
#define NR_close      3
#define NR_mmap       9
#define NR_nanosleep  35
#define NR_clock_gettime 228
#define NR_getpid     39
#define NR_clone      56
#define NR_fork       57
#define NR_exit       60
#define NR_wait4      61
#define NR_mkdir      83
#define NR_getppid    110
#define NR_prctl      157
#define NR_gettid     186
#define NR_futex      202
#define NR_exit_group 231
#define NR_fstat      5
#define NR_socket     41
#define NR_connect    42
#define NR_pipe2      293
#define NR_openat     257

/* Six-argument syscall; unused arguments are simply zero. Arguments go in
 * rdi rsi rdx r10 r8 r9, the kernel clobbers rcx and r11. */
static inline long sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

/* Process entry: the kernel leaves argc, argv[], NULL, envp[] at rsp. */
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call lab_entry\n"
        "  hlt\n");

/* clone_thread (rt.h): clone's x86-64 argument order is (flags, newsp, ptid,
 * ctid, tls); the child starts on the new stack and pops fn and arg. */
__asm__(".text\n"
        ".globl clone_thread\n"
        "clone_thread:\n"
        "  sub $16, %rsi\n"
        "  mov %r8, 0(%rsi)\n"
        "  mov %r9, 8(%rsi)\n"
        "  mov %rcx, %r10\n"
        "  xor %r8d, %r8d\n"
        "  mov $56, %eax\n"
        "  syscall\n"
        "  test %rax, %rax\n"
        "  jnz 1f\n"
        "  xor %ebp, %ebp\n"
        "  pop %rax\n"
        "  pop %rdi\n"
        "  call *%rax\n"
        "  mov %rax, %rdi\n"
        "  mov $60, %eax\n"
        "  syscall\n"
        "  hlt\n"
        "1:\n"
        "  ret\n");

#endif
