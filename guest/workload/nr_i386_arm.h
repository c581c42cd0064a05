/* The syscall numbers of the lab workload that the i386 and ARM EABI tables share
 * (data/linux-ia32.tbl, data/linux-arm32.tbl); arch_i386.h and arch_arm.h add the
 * ones that differ. */
#ifndef LAB_NR_I386_ARM_H
#define LAB_NR_I386_ARM_H

#define NR_exit       1
#define NR_fork       2
#define NR_read       3
#define NR_write      4
#define NR_close      6
#define NR_getpid     20
#define NR_mkdir      39
#define NR_getppid    64
#define NR_fstat      108 /* newfstat: struct compat_stat */
#define NR_wait4      114
#define NR_clone      120
#define NR_nanosleep  162
#define NR_prctl      172
#define NR_mmap       192 /* mmap_pgoff ("mmap2"): six register arguments */
#define NR_gettid     224
#define NR_futex      240

#endif
