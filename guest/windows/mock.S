/* The mock Windows guest's code, kept as data (section .rodata) in mkwinmock, which
 * copies each blob to where the guest runs it and fills in its parameters (the
 * wm_*_p_* slots). Every blob is position-independent.
 *
 *  boot    multiboot entry (32-bit, paging off), copied to an identity-mapped page:
 *          long mode on the image's page tables, GDT with Windows' selectors, IDT
 *          (KPCR.IdtBase), GS base = KPCR, LSTAR/STAR/SFMASK, then kinit.
 *  kernel  at ntoskrnl's KiSystemCall64: the `syscall` entry (trap frame, stack
 *          arguments, dispatch through the service table the descriptor names
 *          (KeServiceDescriptorTable, or the shadow's second for 0x1000 and up:
 *          win32k), routine = base + (entry >> 4), r10 to
 *          rcx, indirect call, sysretq), and kinit: a wait in kernel mode (so that
 *          the tracer finds the kernel and its hooks are in place: a few ms for the
 *          QEMU module, about a second for attach's 20 ms probes), then user mode.
 *  call    calls an ntdll stub with a call table entry's arguments: copied into
 *          kernelbase and, as the WoW64 thunk, into wow64.dll.
 *  user    in the kernelbase-like module: runs the call table the generator wrote
 *          (each entry: ntdll stub, 11 arguments, name, index, tid, pid), prints each
 *          call and the status it got on COM1, runs the WoW64 thread's 32-bit part
 *          when its entry comes, then powers off (ACPI) or idles in NtDelayExecution.
 *  cpu     wow64cpu.dll: the 32 <-> 64-bit gate of the WoW64 process.
 *  x86     the WoW64 process's 32-bit program (compatibility mode).
 */
  .intel_syntax noprefix
  .section .rodata.winmock, "a"

/* ---- boot ------------------------------------------------------------------ */
  .balign 16
  .globl wm_boot_start, wm_boot_entry, wm_boot_end
  .globl wm_boot_p_cr3, wm_boot_p_idtr, wm_boot_p_kpcr, wm_boot_p_lstar, wm_boot_p_krsp, wm_boot_p_kinit
wm_boot_start:
  .code32
wm_boot_entry:
  cli
  call 1f
1:pop ebp
  lea esp, [ebp + wm_boot_stack - 1b]   /* BIOS's stack is not mapped in the image */
  lea eax, [ebp + wm_gdt - 1b]
  mov [ebp + wm_gdtr_base - 1b], eax
  lgdt [ebp + wm_gdtr - 1b]
  mov eax, [ebp + wm_boot_p_cr3 - 1b]
  mov cr3, eax
  mov eax, cr4
  or eax, 0x620                 /* PAE, OSFXSR, OSXMMEXCPT */
  mov cr4, eax
  mov ecx, 0xc0000080           /* EFER: SCE, LME, NXE */
  rdmsr
  or eax, 0x901
  wrmsr
  mov eax, cr0
  or eax, 0x80000001            /* paging on: long mode (compatibility) */
  mov cr0, eax
  lea eax, [ebp + wm_boot64 - 1b]
  push 0x10
  push eax
  retf
  .code64
wm_boot64:
  mov eax, 0x18
  mov ds, eax
  mov es, eax
  mov ss, eax
  xor eax, eax
  mov fs, eax
  mov gs, eax
  lidt [rip + wm_boot_p_idtr]
  mov ecx, 0xc0000101           /* GS base: the KPCR */
  mov eax, [rip + wm_boot_p_kpcr]
  mov edx, [rip + wm_boot_p_kpcr + 4]
  wrmsr
  mov ecx, 0xc0000082           /* LSTAR: KiSystemCall64 */
  mov eax, [rip + wm_boot_p_lstar]
  mov edx, [rip + wm_boot_p_lstar + 4]
  wrmsr
  mov ecx, 0xc0000081           /* STAR: syscall CS 0x10, sysret CS 0x33 / SS 0x2b */
  xor eax, eax
  mov edx, 0x00230010
  wrmsr
  mov ecx, 0xc0000084           /* SFMASK: IF, TF, DF, AC, NT */
  mov eax, 0x44700
  xor edx, edx
  wrmsr
  mov rsp, [rip + wm_boot_p_krsp]
  mov rax, [rip + wm_boot_p_kinit]
  jmp rax

  .balign 16
wm_gdt:
  .quad 0
  .quad 0
  .quad 0x00209a0000000000      /* 0x10 kernel code, 64-bit */
  .quad 0x00cf92000000ffff      /* 0x18 kernel data */
  .quad 0x00cffa000000ffff      /* 0x23 user code, 32-bit */
  .quad 0x00cff2000000ffff      /* 0x2b user data */
  .quad 0x0020fa0000000000      /* 0x33 user code, 64-bit */
wm_gdt_end:
wm_gdtr:
  .word wm_gdt_end - wm_gdt - 1
wm_gdtr_base:
  .long 0
  .balign 8
wm_boot_p_cr3:   .quad 0
wm_boot_p_kpcr:  .quad 0
wm_boot_p_lstar: .quad 0
wm_boot_p_krsp:  .quad 0
wm_boot_p_kinit: .quad 0
wm_boot_p_idtr:  .word 0          /* limit, then the 64-bit base */
  .quad 0
  .balign 16
  .fill 64, 1, 0
wm_boot_stack:
wm_boot_end:

/* ---- kernel ----------------------------------------------------------------- */
  .balign 16
  .globl wm_kernel_start, wm_kernel_init, wm_kernel_end
  .globl wm_kernel_p_krsp, wm_kernel_p_pcr_thread, wm_kernel_p_thread_trap, wm_kernel_p_trap_rip
  .globl wm_kernel_p_trap_rsp, wm_kernel_p_ssdt, wm_kernel_p_shadow
  .globl wm_kernel_p_spin, wm_kernel_p_uentry, wm_kernel_p_ursp
wm_kernel_start:                 /* KiSystemCall64: rcx = user rip, r11 = rflags */
  mov [rip + wm_kernel_ursp], rsp
  mov rsp, [rip + wm_kernel_p_krsp]
  push rcx
  push r11
  push rsi
  push rdi
  mov rsi, [rip + wm_kernel_p_pcr_thread]  /* KPCR -> KPRCB.CurrentThread */
  mov rsi, gs:[rsi]
  add rsi, [rip + wm_kernel_p_thread_trap] /* -> its KTRAP_FRAME: Rip, Rsp */
  mov rsi, [rsi]
  mov rdi, [rip + wm_kernel_p_trap_rip]
  mov [rsi + rdi], rcx
  mov rdi, [rip + wm_kernel_p_trap_rsp]
  mov rcx, [rip + wm_kernel_ursp]
  mov [rsi + rdi], rcx
  sub rsp, 0x60                 /* home space + 8 stack arguments */
  lea rsi, [rcx + 0x28]
  lea rdi, [rsp + 0x20]
  mov ecx, 8
  rep movsq
  mov r11, [rip + wm_kernel_p_ssdt]       /* &KeServiceDescriptorTable.Base */
  test eax, 0x1000
  jz 1f
  mov r11, [rip + wm_kernel_p_shadow]     /* win32k: &KeServiceDescriptorTableShadow[1].Base */
1:mov r11, [r11]
  and eax, 0xfff
  movsxd rax, dword ptr [r11 + rax * 4]
  sar rax, 4
  add rax, r11
  mov rcx, r10
  call rax
  add rsp, 0x60                 /* the return site the tracer hooks */
  pop rdi
  pop rsi
  pop r11
  pop rcx
  mov rsp, [rip + wm_kernel_ursp]
  sysretq

wm_kernel_init:                  /* wait p_spin TSC ticks in kernel mode */
  rdtsc
  shl rdx, 32
  or rax, rdx
  add rax, [rip + wm_kernel_p_spin]
  mov rsi, rax
1:pause
  rdtsc
  shl rdx, 32
  or rax, rdx
  cmp rax, rsi
  jb 1b
  mov rcx, [rip + wm_kernel_p_uentry]
  mov r11, 0x3002               /* IOPL 3 (COM1 and ACPI from user mode), IF off */
  mov rsp, [rip + wm_kernel_p_ursp]
  sysretq

  .balign 8
wm_kernel_p_krsp:     .quad 0
wm_kernel_p_pcr_thread:  .quad 0  /* offsets: KPCR -> CurrentThread, ETHREAD -> TrapFrame */
wm_kernel_p_thread_trap: .quad 0
wm_kernel_p_trap_rip: .quad 0     /* offsets in KTRAP_FRAME */
wm_kernel_p_trap_rsp: .quad 0
wm_kernel_p_ssdt:     .quad 0
wm_kernel_p_shadow:   .quad 0
wm_kernel_p_spin:     .quad 0
wm_kernel_p_uentry:   .quad 0
wm_kernel_p_ursp:     .quad 0
wm_kernel_ursp:       .quad 0
wm_kernel_end:

/* ---- call ------------------------------------------------------------------- */
/* rbx: a call table entry, rdi: the stub to call with the entry's 11 arguments (x64
 * convention: 4 in registers, the rest above 32 bytes of home space); eax: the status.
 * Copied twice: into kernelbase (the 64-bit workload's caller) and into wow64.dll (the
 * WoW64 thunk that calls 64-bit ntdll for a 32-bit caller). */
  .balign 16
  .globl wm_call_start, wm_call_end
wm_call_start:
  sub rsp, 0x68
  mov r11, 4
1:mov rcx, [rbx + 8 + r11 * 8]
  mov [rsp + r11 * 8], rcx      /* argument i at rsp + 0x20 + (i - 4) * 8 */
  inc r11
  cmp r11, 11
  jb 1b
  mov rcx, [rbx + 8]
  mov rdx, [rbx + 16]
  mov r8, [rbx + 24]
  mov r9, [rbx + 32]
  call rdi                      /* the ntdll stub: mov r10, rcx; mov eax, N; syscall */
  add rsp, 0x68
  ret
wm_call_end:

/* ---- user ------------------------------------------------------------------- */
  .balign 16
  .globl wm_user_start, wm_user_end, wm_user_p_table, wm_user_p_call, wm_user_p_idle, wm_user_p_poweroff
/* Call table entry (18 quadwords): stub, 11 arguments, name (C string), index, the
 * thread id and process id the caller runs as (printed: the workload's own account),
 * and for a WoW64 caller the 64-bit ntdll stub its thunk calls and the status its
 * 32-bit program got. An entry whose stub is 1 runs a WoW64 thread's 32-bit part:
 * [1] its entry point, [2] its stack, [3] its table (all below 4 GiB), [4] wow64cpu's
 * save area (this stack, where to resume); its calls are printed when it is back. */
wm_user_start:
  and rsp, -16
  lea rsi, [rip + wm_msg_start]
  call wm_puts
  mov rbx, [rip + wm_user_p_table]
2:mov rdi, [rbx]
  test rdi, rdi
  jz 5f
  cmp rdi, 1
  je 7f
  call [rip + wm_user_p_call]
  mov r12d, eax
  lea r13, [rip + wm_msg_nl]
  call wm_print
8:add rbx, 18 * 8
  jmp 2b
7:push rbx                      /* into compatibility mode: the 32-bit part */
  mov rdi, [rbx + 4 * 8]
  mov [rdi], rsp
  lea rax, [rip + 9f]
  mov [rdi + 8], rax
  mov rax, [rbx + 8]
  mov rsp, [rbx + 16]
  mov ebx, [rbx + 24]
  push 0x23                     /* user code, 32-bit */
  push rax
  .byte 0x48, 0xcb              /* retfq */
9:mov rbx, [rsp]                /* back (wow64cpu's leave) on this stack: the lines of */
  mov ebx, [rbx + 24]           /* the 32-bit table, with the statuses the program got */
10:cmp qword ptr [rbx], 0
  je 11f
  mov r12d, [rbx + 17 * 8]
  lea r13, [rip + wm_msg_wow64]
  call wm_print
  add rbx, 18 * 8
  jmp 10b
11:pop rbx
  jmp 8b
5:lea rsi, [rip + wm_msg_done]
  call wm_puts
  cmp qword ptr [rip + wm_user_p_poweroff], 0
  je 6f
  mov dx, 0x604                 /* ACPI PM1a control: S5 (pc and q35 after SeaBIOS) */
  mov ax, 0x2000
  out dx, ax
6:mov rdi, [rip + wm_user_p_idle]   /* idle: NtDelayExecution over and over */
  test rdi, rdi
  jz 6b
  lea rbx, [rip + wm_user_idle_entry]
  call [rip + wm_user_p_call]
  jmp 6b

wm_print:                        /* rbx: entry, r12d: its status, r13: the line's end */
  lea rsi, [rip + wm_msg_call]
  call wm_puts
  mov rsi, [rbx + 12 * 8]
  call wm_puts
  lea rsi, [rip + wm_msg_nr]
  call wm_puts
  mov edi, [rbx + 13 * 8]
  call wm_puthex
  lea rsi, [rip + wm_msg_status]
  call wm_puts
  mov edi, r12d
  call wm_puthex
  lea rsi, [rip + wm_msg_tid]
  call wm_puts
  mov edi, [rbx + 14 * 8]
  call wm_puthex
  lea rsi, [rip + wm_msg_pid]
  call wm_puts
  mov edi, [rbx + 15 * 8]
  call wm_puthex
  mov rsi, r13
  jmp wm_puts

wm_puts:                         /* rsi: C string to COM1 */
  mov dx, 0x3f8
1:lodsb
  test al, al
  jz 2f
  out dx, al
  jmp 1b
2:ret

wm_puthex:                       /* edi: 8 hex digits to COM1 */
  mov ecx, 8
  mov dx, 0x3f8
1:rol edi, 4
  mov eax, edi
  and eax, 0xf
  cmp al, 10
  jb 2f
  add al, 'a' - 10 - '0'
2:add al, '0'
  out dx, al
  dec ecx
  jnz 1b
  ret

wm_msg_start:  .asciz "WINMOCK start\n"
wm_msg_call:   .asciz "WINMOCK call name="
wm_msg_nr:     .asciz " nr=0x"
wm_msg_status: .asciz " status=0x"
wm_msg_tid:    .asciz " tid=0x"
wm_msg_pid:    .asciz " pid=0x"
wm_msg_nl:     .asciz "\n"
wm_msg_wow64:  .asciz " wow64\n"
wm_msg_done:   .asciz "WINMOCK done\n"
  .balign 8
wm_user_idle_entry: .fill 18, 8, 0   /* NtDelayExecution(0, 0) */
wm_user_p_table:    .quad 0
wm_user_p_call:     .quad 0
wm_user_p_idle:     .quad 0
wm_user_p_poweroff: .quad 0
wm_user_end:

/* ---- wow64cpu --------------------------------------------------------------- */
/* The 32 <-> 64-bit gate of a WoW64 process (below 4 GiB: far jumps take 32-bit
 * offsets). transition: where the 32-bit ntdll stubs call (Wow64Transition), ecx =
 * its address, edx = the call table entry: far jump to 64-bit code, which moves to
 * the thread's 64-bit stack and calls wow64.dll's thunk (rbx = entry, rdi = the
 * 64-bit ntdll stub), then returns to the 32-bit stub in compatibility mode.
 * leave: where the 32-bit part ends: back to the 64-bit workload. */
  .balign 16
  .globl wm_cpu_start, wm_cpu_transition, wm_cpu_leave, wm_cpu_save, wm_cpu_p_thunk, wm_cpu_end
wm_cpu_start:
  .code32
wm_cpu_transition:
  lea ecx, [ecx + wm_cpu_syscall64 - wm_cpu_transition]
  push 0x33                     /* user code, 64-bit */
  push ecx
  retf
  .code64
wm_cpu_syscall64:
  mov r14d, esp                 /* the 32-bit stack: [esp] returns into the 32-bit stub */
  mov rsp, [rip + wm_cpu_save]
  push rbx
  push rdi
  mov ebx, edx
  mov rdi, [rbx + 16 * 8]
  call [rip + wm_cpu_p_thunk]
  pop rdi
  pop rbx
  mov esp, r14d
  mov r8d, [rsp]
  add esp, 4
  push 0x23                     /* user code, 32-bit */
  push r8
  .byte 0x48, 0xcb              /* retfq */
wm_cpu_leave:
  mov rsp, [rip + wm_cpu_save]
  jmp [rip + wm_cpu_save + 8]
  .balign 8
wm_cpu_save:    .quad 0, 0      /* the 64-bit workload's stack, where it resumes */
wm_cpu_p_thunk: .quad 0
wm_cpu_end:

/* ---- x86 -------------------------------------------------------------------- */
/* The 32-bit program of the WoW64 process (compatibility mode, in its exe): runs its
 * call table (entries as the user blob's, read as 32-bit values) through the 32-bit
 * ntdll stubs, records each status in its entry (the 64-bit workload prints them),
 * then leaves through wow64cpu. */
  .balign 16
  .globl wm_x86_start, wm_x86_end, wm_x86_p_table, wm_x86_p_leave
wm_x86_start:
  .code32
  call 1f
1:pop ebp
  mov ebx, [ebp + wm_x86_p_table - 1b]
2:mov eax, [ebx]
  test eax, eax
  jz 5f
  mov edx, ebx
  call eax                      /* the 32-bit ntdll stub */
  mov [ebx + 17 * 8], eax
  add ebx, 18 * 8
  jmp 2b
5:push 0x33                     /* user code, 64-bit: wow64cpu's leave */
  push dword ptr [ebp + wm_x86_p_leave - 1b]
  retf
  .code64
  .balign 8
wm_x86_p_table: .quad 0
wm_x86_p_leave: .quad 0
wm_x86_end:

  .section .note.GNU-stack, "", @progbits
