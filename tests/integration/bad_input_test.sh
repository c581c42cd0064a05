#!/usr/bin/env bash
# Bad input for every subcommand, option, file and config key: each case must give a
# non-zero exit and exactly one line on stderr matching a pattern that names the
# problem. Table-driven; no guest is booted (QEMU is only asked for --version).
set -uo pipefail
build=${1:?usage: bad_input_test.sh BUILD_DIR SHARED_DATA}
# A real Linux profile, for the cases whose error comes after the profile is read.
lprof=$(ls "${2:?usage: bad_input_test.sh BUILD_DIR SHARED_DATA}"/linux-isf/*.json.xz 2>/dev/null | head -1)
[[ -n $lprof ]] || { echo "SKIP: no Linux ISF under $2"; exit 77; }
vt="$build/vmitrace"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 cases=0
q=qemu-system-x86_64

# expect NAME PATTERN ARGS...
expect() {
  local name=$1 pat=$2; shift 2
  cases=$((cases + 1))
  timeout 60 "$vt" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  local why=""
  [[ $rc -ne 0 ]] || why="exit status 0"
  [[ $rc -ne 124 ]] || why="hung (killed after 60 s)"
  [[ $rc -lt 128 ]] || why="killed by signal $((rc - 128))"
  grep -q -E -- "$pat" "$tmp/err" || why="$why; stderr does not match '$pat'"
  [[ $(wc -l <"$tmp/err") -eq 1 ]] || why="$why; not exactly one line on stderr"
  [[ $(wc -c <"$tmp/err") -le 1200 ]] || why="$why; $(wc -c <"$tmp/err") bytes on stderr (echoed values must be cut)"
  if [[ -n $why ]]; then
    echo "FAIL $name: ${why#; } -- stderr: $(head -c 600 "$tmp/err")"
    fails=$((fails + 1))
  fi
}

# Files.
mkdir "$tmp/dir"
: >"$tmp/empty"
head -c 3000 /dev/urandom >"$tmp/garbage"
printf '{"metadata": {"format": "6.2.0"}, "symbols": {}, "user_types": {}}' >"$tmp/not-linux.json"
printf '# only a comment\n\n' >"$tmp/comments.conf"
printf 'openat\n' >"$tmp/filter.txt"
printf '\xff\xfe\x00garbage\n' >"$tmp/filter-bin.txt"
printf 'not_a_syscall\n' >"$tmp/filter-unknown.txt"
bad_name=$'\xff\xfenot-utf8.conf'
nl_name="$tmp/new"$'\n'"line.json"
cfg() { printf '%b' "$2" >"$tmp/$1.conf"; echo "$tmp/$1.conf"; }
prof="$tmp/filter.txt"  # any readable file, for cases that fail before the profile is read

# --- top level ---------------------------------------------------------------
expect no-subcommand "subcommand" 
expect unknown-subcommand "bogus" bogus
expect unknown-option "--bogus" run --bogus -- $q

# --- --user-names: a passwd file that is missing or not one ----------------------
expect user-names-missing "$tmp/nope.passwd" run -r "$lprof" --user-names "$tmp/nope.passwd" -- $q
printf 'root:x:0:0::/:/bin/sh\nbroken\n' >"$tmp/bad.passwd"
expect user-names-bad-line "bad.passwd:2: not a passwd line" attach -d unix:$tmp/none -r "$lprof" --user-names "$tmp/bad.passwd"
printf 'root:x:0:0::/:/bin/sh\n' >"$tmp/good.passwd"
expect user-names-as-output "is also the passwd file \(--user-names\)" run -r "$lprof" --user-names "$tmp/good.passwd" --output "$tmp/good.passwd" -- $q

# --- run: numbers -------------------------------------------------------------
for v in 0 -5 abc 99999999999 8193 1.5; do
  expect "string-limit=$v" "string-limit" run --string-limit "$v" -- $q
done
for v in -1 abc 1e3 ''; do
  expect "max-events=$v" "max-events" run --max-events "$v" -- $q
done
for v in -1 abc 10000001; do
  expect "rate-limit=$v" "rate-limit" run --rate-limit "$v" -- $q
done
for v in 0 1025 4096 abc; do
  expect "ring-mb=$v" "ring-mb" run --ring-mb "$v" -- $q
done
expect ring-mb-bound-in-error "ring-mb: Value 4096 not in range 1 to 1024" run --ring-mb 4096 -- $q
"$vt" run --help | grep -A1 -- "--ring-mb" | grep -q "1..1024" || { echo "FAIL run --help does not give the --ring-mb bound"; fails=$((fails + 1)); }
expect format "format" run -o xml -- $q
expect args-style "args" run --args fancy -- $q
expect backpressure "on-backpressure" run --on-backpressure maybe -- $q
expect missing-value "output" run --output
expect no-qemu "qemu is required|no QEMU command" run -r "$prof" --

# --- run: files -----------------------------------------------------------------
expect profile-missing "nope.json: No such file" run -r "$tmp/nope.json" -- $q
expect profile-dir "dir: is a directory" run -r "$tmp/dir" -- $q
expect profile-empty "empty" run -r "$tmp/empty" -- $q
expect profile-garbage "garbage" run -r "$tmp/garbage" -- $q
expect profile-not-linux "not-linux.json" run -r "$tmp/not-linux.json" -- $q
expect profile-newline-name 'new\\nline.json' run -r "$nl_name" -- $q
expect filter-missing "nofilter.txt" run --syscalls_filter_file "$tmp/nofilter.txt" -r "$prof" -- $q
expect filter-dir "dir: is a directory" run --syscalls_filter_file "$tmp/dir" -r "$prof" -- $q
expect filter-empty "empty: no known syscall names" run --syscalls_filter_file "$tmp/empty" -r "$lprof" -- $q
expect filter-binary "filter-bin.txt: no known syscall names" run --syscalls_filter_file "$tmp/filter-bin.txt" -r "$lprof" -- $q
expect filter-unknown "filter-unknown.txt: no known syscall names" run --syscalls_filter_file "$tmp/filter-unknown.txt" -r "$lprof" -- $q
expect filter-not-utf8-name '\\xff\\xfenot-utf8' run --syscalls_filter_file "$tmp/$bad_name" -r "$prof" -- $q
expect plugin-dir "dir: is a directory" run --plugin "$tmp/dir" -r "$prof" -- $q
expect qemu-not-qemu "does not look like QEMU" run -r "$prof" -- /bin/true
expect qemu-missing "no-such-qemu" run -r "$prof" -- "$tmp/no-such-qemu"

# --- run: config file -------------------------------------------------------------
expect config-missing "missing.conf: No such file" run --config "$tmp/missing.conf" -- $q
expect config-dir "dir: is a directory" run --config "$tmp/dir" -- $q
expect config-devzero "/dev/zero: not a regular file" run --config /dev/zero -- $q
expect config-empty "empty: no 'name = value' line" run --config "$tmp/empty" -- $q
expect config-comments "comments.conf: no 'name = value' line" run --config "$tmp/comments.conf" -- $q
expect config-not-utf8-name '\\xff\\xfenot-utf8.conf' run --config "$tmp/$bad_name" -- $q
expect config-no-file "--config: needs a file name" run --config
expect config-unknown-key "k.conf:2: unknown option 'bogus'" run --config "$(cfg k 'format = kv\nbogus = 1\n')" -- $q
expect config-not-utf8-key "u.conf:1: unknown option" run --config "$(cfg u '\xff\xfe = 1\n')" -- $q
expect config-no-equals "e.conf:1: expected 'name = value'" run --config "$(cfg e 'format kv\n')" -- $q
expect config-no-name "n.conf:1: missing option name" run --config "$(cfg n '= kv\n')" -- $q
expect config-no-value "v.conf:1: 'output' needs a value" run --config "$(cfg v 'output =\n')" -- $q
expect config-bad-type "string.limit" run --config "$(cfg t 'string_limit = abc\n')" -- $q
expect config-negative "max.events" run --config "$(cfg m 'max_events = -1\n')" -- $q
expect config-bad-enum "format" run --config "$(cfg f 'format = \xff\xfe\n')" -- $q
expect config-bad-flag "d.conf:1: 'disable_sysret' is a flag" run --config "$(cfg d 'disable_sysret = 2\n')" -- $q
expect config-nested "c.conf:1: a config file cannot include another" run --config "$(cfg c 'config = x\n')" -- $q
expect config-twice "t2.conf:3: 'format' is given twice \(also at .*t2.conf:1\)" run --config "$(cfg t2 'format = kv\nargs = raw\nformat = csv\n')" -- $q
expect config-twice-alias "a2.conf:2: 'string-limit' is given twice \(also at .*a2.conf:1\)" \
  run --config "$(cfg a2 'string_limit = 5\nstring-limit = 6\n')" -- $q
expect config-twice-across-files "b2.conf:1: 'format' is given twice \(also at .*t1.conf:1\)" \
  run --config "$(cfg t1 'format = kv\n')" --config "$(cfg b2 'format = kv\n')" -- $q
expect config-range "r.conf:2: .*-1 not in range" run --config "$(cfg r 'format = kv\nstring-limit = -1\n')" -- $q
expect config-trailing-comment "tc.conf:1: .*Value 9999 not in range" run --config "$(cfg tc 'string_limit = 9999   # too many\n')" -- $q
expect config-comment-in-quotes "has #hash.txt: No such file" \
  run --config "$(cfg cq "syscalls_filter_file = \"$tmp/has #hash.txt\"  # quoted\n")" -r "$prof" -- $q
expect config-text-after-quote "aq.conf:1: 'format': text after the closing quote" run --config "$(cfg aq 'format = "kv" csv\n')" -- $q
expect config-open-quote "oq.conf:1: 'format': the quoted value has no closing quote" run --config "$(cfg oq 'format = "kv\n')" -- $q
# The command line wins over the file (no error about the option given twice).
expect config-command-line-wins "nodir2/b.jsonl: cannot open output" \
  run --config "$(cfg w "output = $tmp/nodir1/a.jsonl\n")" --output "$tmp/nodir2/b.jsonl" -r "$tmp/not-linux.json" -- $q
expect config-command-line-wins-alias "string-limit: Value 0 not in range|string.limit" \
  run --string_limit 0 --config "$(cfg w2 'string-limit = 100\n')" -- $q
# A 500 KB garbage line, value or argument is not echoed whole.
head -c 500000 /dev/zero | tr '\0' x >"$tmp/long.conf"
expect config-long-line "long.conf:1: expected 'name = value', got 'x{60}\.\.\.'" run --config "$tmp/long.conf" -- $q
{ printf 'format = '; head -c 500000 /dev/zero | tr '\0' y; echo; } >"$tmp/long-value.conf"
expect config-long-value "long-value.conf:1: .*y{60}\.\.\." run --config "$tmp/long-value.conf" -- $q
expect long-argument "format" run --format "$(head -c 100000 /dev/zero | tr '\0' z)" -- $q
expect output-missing-dir "nodir/out.jsonl: cannot open output: No such file" \
  run --output "$tmp/nodir/out.jsonl" -r "$tmp/not-linux.json" -- $q

# --- attach --------------------------------------------------------------------------
expect attach-no-domain "domain" attach -r "$prof"
expect attach-bad-endpoint "bogus" attach -d bogus -r "$lprof"
expect attach-no-socket "nosock" attach -d "unix:$tmp/nosock" -r "$lprof"
expect attach-not-a-socket "empty" attach -d "unix:$tmp/empty" -r "$lprof"
for port in 99999 0 abc; do
  expect "attach-bad-port-$port" "tcp:localhost:$port: port out of range" attach -d "tcp:localhost:$port" -r "$lprof"
done
expect attach-profile-dir "dir" attach -d "unix:$tmp/nosock" -r "$tmp/dir"
expect attach-timeout "timeout-ms" attach -d "unix:$tmp/nosock" -r "$prof" --timeout-ms 0
expect attach-machine "machine" attach -d "unix:$tmp/nosock" -r "$prof" --machine isa
expect attach-string-limit "string-limit" attach -d "unix:$tmp/nosock" -r "$prof" --string-limit 0
expect attach-rate-limit "rate-limit" attach -d "unix:$tmp/nosock" -r "$prof" --rate-limit -3
expect attach-filter-dir "dir" attach -d "unix:$tmp/nosock" -r "$prof" --syscalls_filter_file "$tmp/dir"

# attach takes every option run does (app/trace_options.cpp), with the same bounds.
expect attach-ring-mb "ring-mb: Value 0 not in range" attach -d "unix:$tmp/nosock" -r "$prof" --ring-mb 0
expect attach-string-limit-alias "string-limit: Value 0 not in range" attach -d "unix:$tmp/nosock" -r "$prof" --string_limit 0
expect attach-config-twice "at2.conf:2: 'format' is given twice" attach -d "unix:$tmp/nosock" -r "$prof" --config "$(cfg at2 'format = kv\nformat = csv\n')"
options_of() { "$vt" "$1" --help | grep -o -E '^ +(-[a-zA-Z],)?--[a-z_-]+(,--[a-z_-]+)*' | tr -d ' ' | sort; }
diff <(options_of run | grep -v -E -- '^--(debug-file|plugin)$') \
     <(options_of attach | grep -v -E -- '^(-d,--domain|--guest-ram|--machine|--timeout-ms)$') >"$tmp/drift" ||
  { echo "FAIL run and attach options differ: $(cat "$tmp/drift")"; fails=$((fails + 1)); }

# --- profile ---------------------------------------------------------------------------
expect profile-no-image "IMAGE is required" profile
expect profile-image-missing "nope: No such file" profile "$tmp/nope" --output "$tmp/o.json"
expect profile-image-dir "dir: is a directory" profile "$tmp/dir" --output "$tmp/o.json"
expect profile-image-empty "empty" profile "$tmp/empty" --output "$tmp/o.json"
expect profile-image-garbage "garbage" profile "$tmp/garbage" --output "$tmp/o.json"
expect profile-info-garbage "garbage" profile --info "$tmp/garbage"
expect profile-info-dir "dir: is a directory" profile --info "$tmp/dir"

[[ $fails -eq 0 ]] && echo "bad input: all $cases cases passed" || { echo "$fails of $cases cases failed"; exit 1; }
