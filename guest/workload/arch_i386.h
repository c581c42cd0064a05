/* i386 side of the lab workload: syscall numbers, the `int $0x80` gate, the
 * process entry point and a bare thread-creation helper. Built with gcc -m32
 * and run on the 64-bit kernel through its IA32 emulation (compat syscalls). */
#ifndef LAB_ARCH_I386_H
#define LAB_ARCH_I386_H

#define LAB_PROG    "lab32"
#define LAB_ABI     "x32"
#define LAB_FILE    "/tmp/vmitrace-lab/file32.txt"
#define LAB_RENAMED "vmt-renamed32"
#define LAB_PAYLOAD "vmitrace-lab32-payload\n"

#define NR_exit       1
#define NR_fork       2
#define NR_read       3
#define NR_write      4
#define NR_close      6
#define NR_getpid     20
#define NR_mkdir      39
#define NR_getppid    64
#define NR_wait4      114
#define NR_clone      120
#define NR_nanosleep  162
#define NR_clock_gettime 265 /* 32-bit time (old_timespec32) */
#define NR_prctl      172
#define NR_mmap       192 /* mmap_pgoff ("mmap2"): six register arguments */
#define NR_gettid     224
#define NR_futex      240
#define NR_exit_group 252
#define NR_fstat      108 /* newfstat: struct compat_stat */
#define NR_socket     359
#define NR_connect    362
#define NR_pipe2      331
#define NR_openat     295

#define MMAP_NAME     "mmap_pgoff"
#define MMAP_OFF_NAME "pgoff"
#define WAIT4_PID_NAME "upid" /* the kernel says "pid"; "upid" keeps GT keys unique */

/* One out-of-line gate for every call: ebp cannot be named in an inline-asm
 * constraint, and the sixth argument lives there. cdecl: after saving four
 * registers the arguments start at 20(%esp). */
long sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
__asm__(".text\n"
        ".globl sys\n"
        "sys:\n"
        "  push %ebp\n"
        "  push %ebx\n"
        "  push %esi\n"
        "  push %edi\n"
        "  mov 20(%esp), %eax\n"
        "  mov 24(%esp), %ebx\n"
        "  mov 28(%esp), %ecx\n"
        "  mov 32(%esp), %edx\n"
        "  mov 36(%esp), %esi\n"
        "  mov 40(%esp), %edi\n"
        "  mov 44(%esp), %ebp\n"
        "  int $0x80\n"
        "  pop %edi\n"
        "  pop %esi\n"
        "  pop %ebx\n"
        "  pop %ebp\n"
        "  ret\n");

/* Process entry: argc, argv[], NULL, envp[] at esp. */
__asm__(".text\n"
        ".globl _start\n"
        "_start:\n"
        "  xor %ebp, %ebp\n"
        "  mov %esp, %eax\n"
        "  and $-16, %esp\n"
        "  sub $12, %esp\n"
        "  push %eax\n"
        "  call lab_entry\n"
        "  hlt\n");

/* long clone_thread(flags, stack_top, ptid, ctid, fn, arg): the i386 clone
 * order is (flags, newsp, ptid, tls, ctid) in ebx ecx edx esi edi. fn and arg
 * are parked on the child's stack; the child calls fn(arg) on a 16-byte
 * aligned stack and ends with exit(2). */
long clone_thread(unsigned long flags, void *stack_top, int *ptid, int *ctid,
                  long (*fn)(void *), void *arg);
__asm__(".text\n"
        ".globl clone_thread\n"
        "clone_thread:\n"
        "  push %ebp\n"
        "  push %ebx\n"
        "  push %esi\n"
        "  push %edi\n"
        "  mov 24(%esp), %ecx\n"
        "  mov 40(%esp), %eax\n"
        "  sub $4, %ecx\n"
        "  mov %eax, (%ecx)\n"
        "  mov 36(%esp), %eax\n"
        "  sub $4, %ecx\n"
        "  mov %eax, (%ecx)\n"
        "  mov 20(%esp), %ebx\n"
        "  mov 28(%esp), %edx\n"
        "  mov 32(%esp), %edi\n"
        "  xor %esi, %esi\n"
        "  mov $120, %eax\n"
        "  int $0x80\n"
        "  test %eax, %eax\n"
        "  jnz 1f\n"
        "  xor %ebp, %ebp\n"
        "  pop %eax\n"
        "  pop %edx\n"
        "  and $-16, %esp\n"
        "  sub $12, %esp\n"
        "  push %edx\n"
        "  call *%eax\n"
        "  mov %eax, %ebx\n"
        "  mov $1, %eax\n"
        "  int $0x80\n"
        "  hlt\n"
        "1:\n"
        "  pop %edi\n"
        "  pop %esi\n"
        "  pop %ebx\n"
        "  pop %ebp\n"
        "  ret\n");

#endif
