# The lab's `userland` workload (guest/init runs it under strace -f): Debian's own
# programs (staged by guest/fetch-userland.sh under /usr) doing ordinary things:
# the dynamic loader on its own, coreutils, find, tar piped into gzip and back,
# python3 with a thread and sockets. Program output goes to /dev/null (the writes are traced
# all the same) except the GT lines.
set -e
d=/tmp/vmitrace-userland
/usr/bin/mkdir -p $d/tree/sub
/usr/bin/cp /usr/lib/vmitrace/userland.py $d/tree/sub/
/usr/bin/ln -s sub/userland.py $d/tree/link
/usr/bin/ls -la $d/tree >/dev/null
/usr/bin/cat /proc/self/status /usr/lib/vmitrace/userland.py >/dev/null
/usr/bin/stat $d/tree/link >/dev/null
/usr/bin/sha256sum /usr/bin/ls >/dev/null
/usr/bin/head -c 100 /usr/bin/ls >/dev/null
ldso=/lib64/ld-linux-x86-64.so.2   # the x86-64 lab's loader, else the arm64 lab's
[ -x $ldso ] || ldso=/lib/ld-linux-aarch64.so.1
$ldso --list /usr/bin/tar >/dev/null
/usr/bin/touch $d/tree/stamp
/usr/bin/chmod 0640 $d/tree/stamp
/usr/bin/readlink -f $d/tree/link >/dev/null
/usr/bin/dd if=/usr/bin/ls of=$d/tree/ls.part bs=4096 count=2 skip=1 2>/dev/null
/usr/bin/sort /proc/self/status /usr/lib/vmitrace/userland.sh >/dev/null
/usr/bin/wc /usr/lib/vmitrace/userland.py >/dev/null
/usr/bin/id >/dev/null
/usr/bin/uname -a >/dev/null
/usr/bin/date -u +%s >/dev/null
/usr/bin/find $d/tree -newer /usr/bin/ls -type f >/dev/null
/usr/bin/tar -cf - -C $d tree | /usr/bin/gzip -c >$d/tree.tar.gz
/usr/bin/gzip -dc $d/tree.tar.gz | /usr/bin/tar -tvf - >/dev/null
/usr/bin/python3 -I /usr/lib/vmitrace/userland.py
/usr/bin/rm -r $d/tree
# The arm64 lab: AArch32 (compat) tasks too, Debian's armhf busybox (arm EABI numbers,
# 32-bit arguments and structures) under the same strace.
if [ $ldso = /lib/ld-linux-aarch64.so.1 ] && [ -x /bin32/busybox ]; then
  /bin32/busybox sh -c 'd=/tmp/vmitrace-a32; b=/bin32/busybox; $b mkdir -p $d; echo hello >$d/f
    $b cat $d/f >/dev/null; $b ls -l $d >/dev/null; $b stat $d/f >/dev/null; $b cp $d/f $d/g
    $b sha256sum $d/g >/dev/null; $b wc $d/g >/dev/null; $b rm -r $d; $b ls /nonexistent 2>/dev/null; true'
fi
echo "GT userland done"
