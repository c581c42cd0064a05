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
 *  user    in the kernelbase-like module: runs the call table the generator wrote
 *          (each entry: ntdll stub, 11 arguments, name, index), prints each call and
 *          the status it got on COM1, then powers off (ACPI) or idles in NtDelayExecution.
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

/* ---- user ------------------------------------------------------------------- */
  .balign 16
  .globl wm_user_start, wm_user_end, wm_user_p_table, wm_user_p_idle, wm_user_p_poweroff
/* Call table entry (15 quadwords): ntdll stub, 11 arguments, name (C string), index,
 * the thread id the caller runs as (printed: the workload's own account). */
wm_user_start:
  and rsp, -16
  lea rsi, [rip + wm_msg_start]
  call wm_puts
  mov rbx, [rip + wm_user_p_table]
2:mov rax, [rbx]
  test rax, rax
  jz 5f
  sub rsp, 0x60
  mov r11, 4
3:mov rcx, [rbx + 8 + r11 * 8]
  mov [rsp + r11 * 8], rcx      /* argument i at rsp + 0x20 + (i - 4) * 8 */
  inc r11
  cmp r11, 11
  jb 3b
  mov rcx, [rbx + 8]
  mov rdx, [rbx + 16]
  mov r8, [rbx + 24]
  mov r9, [rbx + 32]
  call rax                      /* the ntdll stub: mov r10, rcx; mov eax, N; syscall */
  add rsp, 0x60
  mov r12d, eax
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
  lea rsi, [rip + wm_msg_nl]
  call wm_puts
  add rbx, 15 * 8
  jmp 2b
5:lea rsi, [rip + wm_msg_done]
  call wm_puts
  cmp qword ptr [rip + wm_user_p_poweroff], 0
  je 6f
  mov dx, 0x604                 /* ACPI PM1a control: S5 (pc and q35 after SeaBIOS) */
  mov ax, 0x2000
  out dx, ax
6:mov rax, [rip + wm_user_p_idle]   /* idle: NtDelayExecution over and over */
  test rax, rax
  jz 6b
  sub rsp, 0x60
  xor ecx, ecx
  xor edx, edx
  call rax
  add rsp, 0x60
  jmp 6b

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
wm_msg_nl:     .asciz "\n"
wm_msg_done:   .asciz "WINMOCK done\n"
  .balign 8
wm_user_p_table:    .quad 0
wm_user_p_idle:     .quad 0
wm_user_p_poweroff: .quad 0
wm_user_end:

  .section .note.GNU-stack, "", @progbits
