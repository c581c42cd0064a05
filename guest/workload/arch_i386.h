/* i386 side of the lab workload: syscall numbers, the `int $0x80` gate, the
 * process entry point and a bare thread-creation helper. Built with gcc -m32
 * and run on the 64-bit kernel through its IA32 emulation (compat syscalls). */
#ifndef LAB_ARCH_I386_H
#define LAB_ARCH_I386_H

#define LAB_ABI "x32"

#include "nr_i386_arm.h"

#define NR_clock_gettime 265 /* 32-bit time (old_timespec32) */
#define NR_exit_group 252
#define NR_socket     359
#define NR_connect    362
#define NR_pipe2      331
#define NR_openat     295

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

/* clone_thread (rt.h): the i386 clone order is (flags, newsp, ptid, tls, ctid)
 * in ebx ecx edx esi edi; the child pops fn and arg and calls fn(arg) on a
 * 16-byte aligned stack. */
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
