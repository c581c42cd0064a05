#!/usr/bin/env bash
# Boots a lab VM under QEMU 10 (TCG, KASLR on) with the lab initramfs, or the
# disk-image guest through its firmware and bootloader, serial console to a log,
# and waits until the guest powers off. See guest/README.md.
#
#   guest/launch.sh --kernel 6.1|6.12|686|686np|arm64-6.1|arm64-6.12|arm64-16k|DIR | --disk debian|debian-arm64|FILE
#                   [--smp N] [--mem MB] [--workload NAME] [--log FILE] [--timeout SEC] [--append "ARGS"] [--print-cmd]
#                   [-- WRAPPER ARGS...]
#
# Exit status: 0 when the guest powered off cleanly and its log holds `GT done`;
# 124 on timeout (QEMU killed); otherwise non-zero with a one-line message.
set -uo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="$repo/.cache/guest"
me="launch"

usage() {
  sed -n '6,8p' "$0" | sed 's/^# \{0,1\}//'
  cat <<'TXT'
  --kernel 6.1|6.12|686|686np|arm64-6.1|arm64-6.12|arm64-16k|DIR
                         lab kernel series (686: the 32-bit lab, i386 686-pae kernel
                         under qemu-system-i386; 686np: its non-PAE linux-image-686
                         twin; arm64-*: Debian's cloud-arm64 kernels under
                         qemu-system-aarch64 -M virt -cpu max,lpa2=off; arm64-16k:
                         Debian's 16 KiB-page arm64 kernel), or a directory
                         holding vmlinuz (and optionally initramfs.cpio.gz; an arm64
                         Image boots as arm64-*)
  --disk debian|debian-arm64|FILE
                         boot a raw disk image instead (debian: .cache/guest/debian.img,
                         guest/build-debian-image.sh): no -kernel, SeaBIOS and the
                         image's bootloader; writes go to a temporary snapshot.
                         debian-arm64: .cache/guest/debian-arm64.img
                         (guest/build-arm64-disk-image.sh) under qemu-system-aarch64,
                         UEFI (AAVMF) and GRUB
  --smp N                virtual CPUs (default 1)
  --mem MB               guest RAM in MiB (default 512)
  --workload NAME        default | bench | nanosleep | strace | userland | none (default: default)
  --log FILE             serial console log (default: stdout)
  --timeout SEC          kill QEMU after SEC seconds, exit 124 (default 300, 0 = never)
  --append "ARGS"        extra kernel command line arguments
  --print-cmd            print the command (one argument per line) and exit
  -- WRAPPER ARGS...     run WRAPPER ARGS... qemu-system-x86_64 (686, 686np: -i386;
                         arm64-*: -aarch64) QEMU-ARGS...
TXT
}
die() { echo "$me: $*" >&2; exit 2; }

kernel="" disk="" smp=1 mem=512 workload=default log="" timeout_s=300 append="" print_cmd=0
wrapper=()
need() { [[ $# -ge 2 ]] || die "option $1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --kernel) need "$@"; kernel=$2; shift 2 ;;
    --disk) need "$@"; disk=$2; shift 2 ;;
    --smp) need "$@"; smp=$2; shift 2 ;;
    --mem) need "$@"; mem=$2; shift 2 ;;
    --workload) need "$@"; workload=$2; shift 2 ;;
    --log) need "$@"; log=$2; shift 2 ;;
    --timeout) need "$@"; timeout_s=$2; shift 2 ;;
    --append) need "$@"; append=$2; shift 2 ;;
    --kernel=*|--disk=*|--smp=*|--mem=*|--workload=*|--log=*|--timeout=*|--append=*)
      opt=${1%%=*}; val=${1#*=}; shift; set -- "$opt" "$val" "$@" ;;
    --print-cmd) print_cmd=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; wrapper=("$@"); break ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

[[ -n $kernel || -n $disk ]] || die "--kernel 6.1|6.12|686|686np|arm64-6.1|arm64-6.12|arm64-16k|DIR or --disk debian|debian-arm64|FILE is required"
[[ -z $kernel || -z $disk ]] || die "--kernel and --disk exclude each other"
[[ $smp =~ ^[1-9][0-9]*$ ]] || die "--smp: '$smp' is not a positive number"
[[ $mem =~ ^[1-9][0-9]*$ ]] || die "--mem: '$mem' is not a positive number of MiB"
[[ $timeout_s =~ ^[0-9]+$ ]] || die "--timeout: '$timeout_s' is not a number of seconds"
[[ $workload =~ ^[A-Za-z0-9_.-]+$ ]] || die "--workload: '$workload' is not a workload name"

arch=x86_64 lab_initrd="$cache/initramfs.cpio.gz"
if [[ -n $disk ]]; then
  # The disk-image guest: its workload and kernel command line are in its grub.cfg.
  [[ $workload == default && -z $append ]] || die "--workload and --append do not apply to --disk (the image's grub.cfg sets them)"
  if [[ $disk == debian || $disk == debian-arm64 ]]; then
    [[ $disk == debian-arm64 ]] && arch=aarch64
    disk="$cache/$disk.img"
    [[ -s $disk ]] || die "$disk missing: run guest/setup.sh"
  fi
  [[ -f $disk && -r $disk ]] || die "--disk: '$disk' is not a readable disk image file"
  disk="$(cd "$(dirname "$disk")" && pwd)/$(basename "$disk")"
else
  case "$kernel" in
    6.1|6.12|arm64-6.1|arm64-6.12|arm64-16k) kdir="$cache/kernel-$kernel" ;;
    686|686np) kdir="$cache/kernel-$kernel" arch=i386 lab_initrd="$cache/initramfs-i386.cpio.gz" ;;
    *) [[ -d $kernel ]] || die "--kernel: '$kernel' is neither 6.1, 6.12, 686, 686np, arm64-6.1, arm64-6.12, arm64-16k nor a directory"
       kdir="$(cd "$kernel" && pwd)" ;;
  esac
  vmlinuz="$kdir/vmlinuz"
  [[ -s $vmlinuz ]] || die "$vmlinuz missing: run guest/setup.sh"
  # An arm64 Image (Debian's arm64 vmlinuz) has the magic "ARM\x64" at offset 0x38.
  if [[ $kernel == arm64-* || $(od -An -c -j 56 -N 4 "$vmlinuz" 2>/dev/null | tr -d ' ') == ARMd ]]; then
    arch=aarch64 lab_initrd="$cache/initramfs-arm64.cpio.gz"
  fi
  # The userland workload's Debian programs live in their own (larger) archive.
  [[ $workload == userland && $arch == x86_64 ]] && lab_initrd="$cache/initramfs-userland.cpio.gz"
  [[ $workload == userland && $arch == aarch64 ]] && lab_initrd="$cache/initramfs-userland-arm64.cpio.gz"
  [[ $workload == userland && $arch == i386 ]] && lab_initrd="$cache/initramfs-userland-i386.cpio.gz"
  initrd="$kdir/initramfs.cpio.gz"
  [[ -s $initrd ]] || initrd="$lab_initrd"
  [[ -s $initrd ]] || die "$initrd missing: run guest/setup.sh"
fi

# QEMU 10 from bookworm-backports: older plugin APIs cannot read registers/memory.
qemu=${VMITRACE_QEMU:-}
if [[ -z $qemu ]]; then
  if [[ -x /usr/bin/qemu-system-$arch ]]; then qemu=/usr/bin/qemu-system-$arch
  else qemu=$(command -v "qemu-system-$arch" || true)
  fi
fi
[[ -n $qemu && -x $qemu ]] || die "qemu-system-$arch not found: run scripts/install-deps.sh (QEMU 10 from bookworm-backports)"
qver=$("$qemu" --version 2>/dev/null | head -n 1)
[[ $qver =~ version\ ([0-9]+)\. ]] || die "$qemu: cannot read its version ('$qver')"
(( BASH_REMATCH[1] >= 10 )) || die "$qemu is QEMU ${qver#*version } but the lab needs QEMU 10+: run scripts/install-deps.sh (bookworm-backports)"

qesc() { printf '%s' "${1//,/,,}"; }   # QEMU option values: ',' is written ',,'

tmpdir=""
cleanup() { [[ -n $tmpdir ]] && rm -rf "$tmpdir"; }
trap cleanup EXIT
if [[ -n $log ]]; then
  logfile=$log
  [[ $logfile == /* ]] || logfile="$PWD/$logfile"
  serial=(-chardev "file,id=ser0,path=$(qesc "$logfile")" -serial chardev:ser0)
elif [[ $print_cmd == 1 ]]; then
  logfile=""
  serial=(-chardev stdio,id=ser0 -serial chardev:ser0)
else
  tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/vmitrace-launch.XXXXXX")
  logfile="$tmpdir/serial.log"
  serial=(-chardev "stdio,id=ser0,logfile=$(qesc "$logfile")" -serial chardev:ser0)
fi

# panic=-1 + -no-reboot: a panicking guest ends QEMU at once instead of hanging.
# arm64: the virt board (PL011 serial, ttyAMA0; PSCI power-off; a KASLR seed in
# the device tree) with every CPU feature QEMU emulates but LPA2: with it the 6.12
# kernel (CONFIG_ARM64_VA_BITS=52) runs 52-bit VAs on 5-level tables; without it
# both lab kernels use 48-bit VAs, 4K pages, 4 levels (what real arm64 servers and
# phones run today), and arm64-16k (also built for 52 bits) 47-bit VAs, 16K pages,
# 3 levels (Android 15+ phones' page size).
machine=(-machine pc) console=ttyS0
[[ $arch == aarch64 ]] && machine=(-machine virt -cpu max,lpa2=off) console=ttyAMA0
if [[ -n $disk ]]; then
  boot=(-drive "file=$(qesc "$disk"),format=raw,snapshot=on")
  if [[ $arch == aarch64 ]]; then
    # UEFI in the virt board's two flash devices: the firmware, and its variables
    # (written to a temporary snapshot like the disk).
    aavmf=/usr/share/AAVMF
    [[ -s $aavmf/AAVMF_CODE.fd ]] || die "$aavmf/AAVMF_CODE.fd missing: run scripts/install-deps.sh (qemu-efi-aarch64)"
    boot=(-drive "if=pflash,format=raw,readonly=on,file=$aavmf/AAVMF_CODE.fd"
          -drive "if=pflash,format=raw,snapshot=on,file=$aavmf/AAVMF_VARS.fd" "${boot[@]}")
  fi
else
  cmdline="console=$console panic=-1 quiet vmitrace.workload=$workload${append:+ $append}"
  boot=(-kernel "$vmlinuz" -initrd "$initrd" -append "$cmdline")
fi
qargs=(-accel tcg "${machine[@]}" -smp "$smp" -m "$mem"
       -nodefaults -no-user-config -display none -nic none -no-reboot
       "${boot[@]}" "${serial[@]}")
cmd=("${wrapper[@]}" "$qemu" "${qargs[@]}")

if [[ $print_cmd == 1 ]]; then
  printf '%s\n' "${cmd[@]}"
  exit 0
fi

if [[ -n $log ]]; then : 2>/dev/null >"$logfile" || die "$logfile: cannot write the log"; fi
if [[ $timeout_s -gt 0 ]]; then
  # timeout(1) runs the command in its own process group and kills all of it.
  timeout -k 10 "$timeout_s" "${cmd[@]}" </dev/null &
else
  "${cmd[@]}" </dev/null &
fi
child=$!
interrupted=0
trap 'interrupted=1; kill -TERM "$child" 2>/dev/null' TERM INT HUP
while :; do
  wait "$child"; status=$?
  kill -0 "$child" 2>/dev/null || break
done

what=${wrapper[0]:-QEMU}
where=${log:-the console output}
if [[ $interrupted == 1 ]]; then echo "$me: interrupted; $what stopped" >&2; exit 130; fi
if [[ $timeout_s -gt 0 && $status == 124 ]]; then
  echo "$me: timeout after ${timeout_s}s: the guest did not power off, $what killed (see $where)" >&2
  exit 124
fi
clean=$(mktemp "${TMPDIR:-/tmp}/vmitrace-launch-log.XXXXXX")
tr -d '\r' <"$logfile" >"$clean" 2>/dev/null || true
done_seen=0 poweroff_seen=0
grep -aq '^GT done$' "$clean" && done_seen=1
grep -aq 'reboot: Power down' "$clean" && poweroff_seen=1
panic=$(grep -a -m1 'Kernel panic' "$clean" || true)
guest_error=$(grep -a -m1 '^GT error' "$clean" || true)
rm -f "$clean"

if [[ $status != 0 ]]; then
  echo "$me: $what exited with status $status${panic:+ ($panic)}" >&2
  exit "$status"
fi
if [[ $done_seen == 0 ]]; then
  echo "$me: the guest did not reach 'GT done'${panic:+: $panic}${guest_error:+: $guest_error} (see $where)" >&2
  exit 1
fi
if [[ $poweroff_seen == 0 ]]; then
  echo "$me: the guest printed 'GT done' but did not power off cleanly${panic:+: $panic} (see $where)" >&2
  exit 1
fi
exit 0
