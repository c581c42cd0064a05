/* AArch32 side of the lab workload (the arm64 lab's compat program): ARM EABI
 * syscall numbers, the `svc #0` gate, the process entry point and a bare
 * thread-creation helper. Built with arm-linux-gnueabihf-gcc -marm and run on
 * the arm64 kernel as a compat (AArch32) task. */
#ifndef LAB_ARCH_ARM_H
#define LAB_ARCH_ARM_H

#define LAB_ABI "arm32"

#include "nr_i386_arm.h"

#define NR_exit_group 248
#define NR_clock_gettime 263 /* 32-bit time (old_timespec32) */
#define NR_socket     281
#define NR_connect    283
#define NR_openat     322
#define NR_pipe2      359

/* One out-of-line gate: number in r7, arguments in r0..r5 (AAPCS passes the
 * 4th..6th of ours on the stack: at 16(sp) after saving four registers). */
long sys(long nr, long a1, long a2, long a3, long a4, long a5, long a6);
__asm__(".text\n"
        ".arm\n"
        ".globl sys\n"
        "sys:\n"
        "  push {r4, r5, r7, lr}\n"
        "  mov r7, r0\n"
        "  mov r0, r1\n"
        "  mov r1, r2\n"
        "  mov r2, r3\n"
        "  ldr r3, [sp, #16]\n"
        "  ldr r4, [sp, #20]\n"
        "  ldr r5, [sp, #24]\n"
        "  svc #0\n"
        "  pop {r4, r5, r7, pc}\n");

/* Process entry: the kernel leaves argc, argv[], NULL, envp[] at sp. */
__asm__(".text\n"
        ".arm\n"
        ".globl _start\n"
        "_start:\n"
        "  mov fp, #0\n"
        "  mov lr, #0\n"
        "  mov r0, sp\n"
        "  bic sp, sp, #7\n"
        "  bl lab_entry\n"
        "  udf #0\n");

/* clone_thread (rt.h): clone's ARM argument order is (flags, newsp, ptid, tls,
 * ctid); the child loads fn and arg from its new stack. */
__asm__(".text\n"
        ".arm\n"
        ".globl clone_thread\n"
        "clone_thread:\n"
        "  push {r4, r5, r7, lr}\n"
        "  ldr r5, [sp, #16]\n"
        "  ldr ip, [sp, #20]\n"
        "  sub r1, r1, #8\n"
        "  str r5, [r1]\n"
        "  str ip, [r1, #4]\n"
        "  mov r4, r3\n"
        "  mov r3, #0\n"
        "  mov r7, #120\n"
        "  svc #0\n"
        "  cmp r0, #0\n"
        "  bne 1f\n"
        "  ldr r5, [sp]\n"
        "  ldr r0, [sp, #4]\n"
        "  add sp, sp, #8\n"
        "  mov fp, #0\n"
        "  blx r5\n"
        "  mov r7, #1\n"
        "  svc #0\n"
        "  udf #0\n"
        "1:\n"
        "  pop {r4, r5, r7, pc}\n");

#endif
