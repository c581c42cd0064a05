/* Freestanding runtime for the lab workload: a per-line output buffer and the
 * formatting the GT lines need (decimal, hex, quoted strings, errno names).
 * Each GT line is built in its own buffer and written with one write(2), so
 * lines from the parent, a child and a thread never interleave. */
#ifndef LAB_RT_H
#define LAB_RT_H

/* What depends on the word size only: the program's name, its file, its thread name
 * and payload, and the kernel's names of mmap and its offset argument (64-bit:
 * mmap/off; 32-bit ABIs: mmap_pgoff/pgoff, "mmap2"). */
#if __SIZEOF_POINTER__ == 8
#define LAB_PROG      "lab64"
#define LAB_FILE      "/tmp/vmitrace-lab/file64.txt"
#define LAB_RENAMED   "vmt-renamed"
#define LAB_PAYLOAD   "vmitrace-lab64-payload\n"
#define MMAP_NAME     "mmap"
#define MMAP_OFF_NAME "off"
#else
#define LAB_PROG      "lab32"
#define LAB_FILE      "/tmp/vmitrace-lab/file32.txt"
#define LAB_RENAMED   "vmt-renamed32"
#define LAB_PAYLOAD   "vmitrace-lab32-payload\n"
#define MMAP_NAME     "mmap_pgoff"
#define MMAP_OFF_NAME "pgoff"
#endif
#define WAIT4_PID_NAME "upid" /* the kernel says "pid"; "upid" keeps GT keys unique */

/* Each arch_*.h gives LAB_ABI, the NR_* numbers it uses, `long sys(nr, a1..a6)` (the
 * raw syscall gate), `_start` (calls lab_entry with the initial stack pointer: argc,
 * argv[], NULL, envp[]) and clone_thread: clone(2) in that ABI's argument order, with
 * fn and arg parked on the new stack, where the child calls fn(arg) and ends with
 * exit(2) (this thread only). */
long clone_thread(unsigned long flags, void *stack_top, int *ptid, int *ctid,
                  long (*fn)(void *), void *arg);

#if defined(__x86_64__)
#include "arch_x86_64.h"
#elif defined(__i386__)
#include "arch_i386.h"
#elif defined(__aarch64__)
#include "arch_aarch64.h"
#elif defined(__arm__)
#include "arch_arm.h"
#else
#error "lab workload: x86-64, i386, aarch64 or arm only"
#endif

/* gcc may emit calls to these even with -ffreestanding. */
void *memset(void *d, int c, unsigned long n)
{
    unsigned char *p = d;
    while (n--) *p++ = (unsigned char)c;
    return d;
}
void *memcpy(void *d, const void *s, unsigned long n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) *p++ = *q++;
    return d;
}

static unsigned long str_len(const char *s)
{
    unsigned long n = 0;
    while (s[n]) n++;
    return n;
}

static int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) a++, b++;
    return *a == *b;
}

static long str_to_long(const char *s)
{
    long v = 0;
    while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
    return v;
}

struct out {
    char b[1024];
    unsigned n;
};

static void out_char(struct out *o, char c)
{
    if (o->n < sizeof o->b) o->b[o->n++] = c;
}

static void out_str(struct out *o, const char *s)
{
    while (*s) out_char(o, *s++);
}

/* Signed decimal; `long` is the word size, so no 64-bit division on i386. */
static void out_dec(struct out *o, long v)
{
    char t[24];
    int i = 0;
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    do t[i++] = (char)('0' + u % 10); while ((u /= 10) != 0);
    if (v < 0) out_char(o, '-');
    while (i) out_char(o, t[--i]);
}

static void out_hex(struct out *o, unsigned long v)
{
    char t[20];
    int i = 0;
    do t[i++] = "0123456789abcdef"[v & 15]; while ((v >>= 4) != 0);
    out_str(o, "0x");
    while (i) out_char(o, t[--i]);
}

/* "..." with \\ \" \n \r \t and \xHH for other bytes outside 0x20..0x7e. */
static void out_quoted(struct out *o, const char *s, unsigned long n)
{
    out_char(o, '"');
    for (unsigned long i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '"') { out_char(o, '\\'); out_char(o, (char)c); }
        else if (c == '\n') out_str(o, "\\n");
        else if (c == '\r') out_str(o, "\\r");
        else if (c == '\t') out_str(o, "\\t");
        else if (c < 0x20 || c > 0x7e) {
            out_str(o, "\\x");
            out_char(o, "0123456789abcdef"[c >> 4]);
            out_char(o, "0123456789abcdef"[c & 15]);
        } else out_char(o, (char)c);
    }
    out_char(o, '"');
}

static void kv_dec(struct out *o, const char *k, long v)
{
    out_char(o, ' '); out_str(o, k); out_char(o, '='); out_dec(o, v);
}
static void kv_hex(struct out *o, const char *k, unsigned long v)
{
    out_char(o, ' '); out_str(o, k); out_char(o, '='); out_hex(o, v);
}
static void kv_str(struct out *o, const char *k, const char *s)
{
    out_char(o, ' '); out_str(o, k); out_char(o, '='); out_quoted(o, s, str_len(s));
}
static void kv_mem(struct out *o, const char *k, const char *s, unsigned long n)
{
    out_char(o, ' '); out_str(o, k); out_char(o, '='); out_quoted(o, s, n);
}
/* A bare word (comm names, errno names): no spaces by construction. */
static void kv_word(struct out *o, const char *k, const char *s)
{
    out_char(o, ' '); out_str(o, k); out_char(o, '='); out_str(o, s);
}

static const char *errno_name(long e)
{
    switch (e) {
    case 1: return "EPERM";   case 2: return "ENOENT";  case 3: return "ESRCH";
    case 4: return "EINTR";   case 9: return "EBADF";   case 10: return "ECHILD";
    case 11: return "EAGAIN"; case 12: return "ENOMEM"; case 13: return "EACCES";
    case 14: return "EFAULT"; case 17: return "EEXIST"; case 20: return "ENOTDIR";
    case 21: return "EISDIR"; case 22: return "EINVAL"; case 38: return "ENOSYS";
    case 101: return "ENETUNREACH"; case 111: return "ECONNREFUSED";
    default: return 0;
    }
}

/* ret=<decimal> and, for -4095..-1, errno=<NAME> (or errno=<n> if unnamed). */
static void kv_ret(struct out *o, long r)
{
    kv_dec(o, "ret", r);
    if (r < 0 && r >= -4095) {
        const char *n = errno_name(-r);
        if (n) kv_word(o, "errno", n);
        else kv_dec(o, "errno", -r);
    }
}

/* Ends the line and writes it with write(1, ...) (retrying short writes). */
static void out_flush(struct out *o)
{
    if (o->n >= sizeof o->b) o->n = sizeof o->b - 1;
    o->b[o->n++] = '\n';
    unsigned long off = 0;
    while (off < o->n) {
        long r = sys(NR_write, 1, (long)(o->b + off), (long)(o->n - off), 0, 0, 0);
        if (r == -4) continue; /* EINTR */
        if (r <= 0) break;
        off += (unsigned long)r;
    }
    o->n = 0;
}

#endif
