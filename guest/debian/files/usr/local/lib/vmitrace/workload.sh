#!/bin/sh
# The disk-image guest's workload: real Debian programs, dynamically linked.
# Run by vmitrace-init twice: as is, then under strace -f (the same calls, for
# the strace comparison). Its output goes to the console; nothing here starts
# with `GT ` or `ST ` except the step lines.
w=/tmp/work
rm -rf "$w"
mkdir -p "$w"
cd "$w" || exit 1
step() { echo "GT step $1 pid=$$"; }

step loader   # the dynamic loader run as a program, and through ldd (a bash script)
/lib64/ld-linux-x86-64.so.2 /usr/bin/true
ldd /usr/bin/python3 >libs.txt
/lib64/ld-linux-x86-64.so.2 --list /usr/bin/tar >>libs.txt

step coreutils
echo "vmitrace disk-image workload" >note.txt
cp note.txt copy.txt
ln -s copy.txt link.txt
mv copy.txt moved.txt
readlink link.txt
cat note.txt moved.txt
ls -la "$w" /etc/os-release
stat note.txt
wc -l /etc/passwd libs.txt
sort -r /etc/passwd | head -n 2
sha256sum note.txt
chmod 600 note.txt
touch -d @1000000000 note.txt
du -s /usr/share/perl5 2>/dev/null
df /
id
uname -a
date -u +%s >/dev/null
rm -f moved.txt link.txt
ls /nonexistent-vmitrace 2>/dev/null   # ENOENT, exit status 2

step procps
ps -e -o pid,ppid,comm | tail -n 3   # reads every /proc/PID
free
uptime

step tar-gzip
tar -c -C /usr/lib/python3.11 json | gzip -c >json.tar.gz
gzip -dc json.tar.gz | tar -t | wc -l

step python3
python3 /usr/local/lib/vmitrace/workload.py
