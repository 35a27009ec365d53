"""The launcher: one fixed POSIX sh program that runs an audited script in the devpod, contained
and watched (V3, V4). :mod:`buildgate.devpod.isolate` runs it and reads its report; this module
only holds its text (a module constant, so it ships with the package; ``tests/devpod`` runs
shellcheck on it). Every value reaches it as a positional argument, never pasted into it.
"""
from __future__ import annotations

LAUNCHER = r"""# buildgate launcher: runs one audited script in the devpod, contained and watched.
# It runs as root, as PID 1 of fresh mount, PID (fresh /proc), network (loopback only), IPC
# and UTS namespaces (`unshare ... --fork --kill-child --mount-proc`): when it ends, every
# process and mount it made ends with it, and nothing is left on the devpod's disk.
#
# Arguments: UID RUN CWD LIMIT TRACER TOOLS DIRS NAME=VALUE... START SCRIPT [ARG...]
#   UID     the dedicated unprivileged uid the script runs as
#   RUN     an empty root-only folder made for this run (RUN/repo: a staged copy, if any)
#   CWD     where the script runs ("" = the staged copy)
#   LIMIT   seconds the script may run
#   TRACER  strace's path ("" = no exec/syscall trace)
#   TOOLS   the programs replaced by recording shims (space-separated names)
#   DIRS    the folders whose copies of TOOLS are covered by the shims (space-separated)
#   then the script's whole environment (NAME=VALUE), the start wrapper and the script's argv.
#
# What the script gets: uid UID, no capabilities, no_new_privs, a user namespace in which it
# can create no further one; every mount read-only except a private /tmp, /var/tmp, /dev/shm;
# the real build tools covered by read-only bind mounts of the shims; Kubernetes service
# account secrets masked. What is recorded: every shim call (through a FIFO that only root
# reads), every exec, connect, send-to-address, mount, namespace and clone (strace), image
# stores, layouts or container storage folders left in its scratch space, its exit status and output.
# The report goes to stdout as sections "@@buildgate NAME SHOWN TOTAL" + SHOWN bytes.
set -u
uid=$1 run=$2 cwd=$3 limit=$4 tracer=$5 tools=$6 dirs=$7
shift 7
B=/tmp/.buildgate
fail() { echo "buildgate-isolation: $*" >&2; exit 125; }
for p in mount setpriv mkfifo readlink find head wc cat sleep; do
  command -v "$p" >/dev/null 2>&1 || fail "$p is not installed in the devpod"
done

# -- network: loopback only --------------------------------------------------------------------
lo=down
if command -v ip >/dev/null 2>&1 && ip link set lo up 2>/dev/null; then lo=up; fi

# -- a private /tmp holding a root-only run folder; staged repository; shims --------------------
N="$run/newtmp"
mkdir -p "$N" && mount -t tmpfs -o size=256m,nr_inodes=65536,mode=1777,nosuid,nodev buildgate-tmp "$N" || fail "cannot mount a private /tmp"
mkdir "$N/.buildgate" && mount -t tmpfs -o size=96m,mode=0711 buildgate-run "$N/.buildgate" || fail "cannot mount the run folder"
P="$N/.buildgate"
mkdir -m 0755 "$P/bin" && mkdir -m 0700 "$P/p" "$P/o" || fail "mkdir in the run folder"
# The records and the script's output each get their own tmpfs: a script that floods its output
# can't crowd out the trace (and a full record folder is reported, never read as complete).
mount -t tmpfs -o size=64m,mode=0700 buildgate-records "$P/p" && mount -t tmpfs -o size=8m,mode=0700 buildgate-out "$P/o" \
  || fail "cannot mount the record folders"
mkfifo -m 0622 "$P/calls.fifo" && mkfifo -m 0600 "$P/p/go" || fail "mkfifo"
: > "$P/p/calls"; : > "$P/p/trace"; : > "$P/o/out"; : > "$P/p/shadowed"; : > "$P/p/artefacts"
# A shim records its call in ONE write of at most 4000 bytes (arguments beyond that are cut
# and the cut marked), so a script writing to the FIFO itself can add records but never split one.
c=$(printf '\001')
record='record() {
  LC_ALL=C; n=0; keep=0
  for a in "$@"; do n=$((n + ${#a} + 1)); [ "$n" -gt 3900 ] && break; keep=$((keep + 1)); done
  if [ "$keep" -lt "$#" ]; then
    i=0
    for a in "$@"; do shift; i=$((i + 1)); [ "$i" -le "$keep" ] && set -- "$@" "$a"; done
    set -- "$@" "'"$c"'buildgate-cut"
  fi
  printf "%s\000" "'"$c"'buildgate-call'"$c"'" "$t" "$@" > '"$B"'/calls.fifo
}'
for t in $tools; do
  case "$t" in *[!a-z0-9._-]*|'') fail "bad tool name $t" ;; esac
  printf '#!/bin/sh\n# buildgate shim: records this call and runs nothing\nt=%s\n%s\nrecord "$@"\nexit 0\n' "$t" "$record" \
    > "$P/bin/$t" && chmod 0755 "$P/bin/$t" || fail "writing the $t shim"
done
git=$(command -v git 2>/dev/null || true)
case "$git" in
  /*[!A-Za-z0-9/._-]*) git="" ;;
  /*) case " $tools " in *" git "*) ;; *)
        { printf '#!/bin/sh\n# buildgate guard: records this call; runs the real git unless it would talk to a remote\n'
          printf 't=git\n%s\n(record "$@")\n' "$record"
          printf '%s\n' 'sub=""; skip=0' 'for a in "$@"; do' \
            '  if [ "$skip" = 1 ]; then skip=0; continue; fi' \
            '  case "$a" in -C|-c|--git-dir|--work-tree|--namespace) skip=1 ;; -*) ;; *) sub=$a; break ;; esac' 'done' \
            'case "$sub" in push|fetch|pull|clone|ls-remote|remote|submodule|send-email|request-pull) exit 0 ;; esac'
          printf 'exec %s -c safe.directory=* "$@"\n' "$git"
        } > "$P/bin/git" && chmod 0755 "$P/bin/git" || fail "writing the git guard" ;;
      esac ;;
esac
printf '#!/bin/sh\nexec "$@"\n' > "$P/start" && chmod 0755 "$P/start" || fail "writing the start wrapper"
if [ -z "$cwd" ]; then
  cp -R "$run/repo" "$P/repo" && chmod -R a+rX "$P/repo" || fail "cannot stage the script"
  cwd="$B/repo"
fi
mount --move "$N" /tmp || fail "cannot move the private /tmp into place"
for d in /var/tmp /dev/shm; do
  if [ -d "$d" ] && [ ! -L "$d" ]; then
    mount -t tmpfs -o size=64m,nr_inodes=16384,mode=1777,nosuid,nodev buildgate-scratch "$d" || fail "cannot mount a private $d"
  fi
done
mkdir -m 0700 /tmp/home && chown "$uid:$uid" /tmp/home || fail "cannot make the script's home"

# -- the real build tools: covered by the shims, read-only -------------------------------------
seen=" "
for d in $dirs; do
  for t in $tools; do
    [ -e "$d/$t" ] || continue
    r=$(readlink -f "$d/$t") || continue
    case "$seen" in *" $r "*) continue ;; esac
    case "$r" in /*[!A-Za-z0-9/._+-]*) fail "odd tool path $r" ;; esac
    mount --bind "$B/bin/$t" "$r" && mount -o remount,bind,ro "$r" || fail "cannot bind the shim over $r"
    seen="$seen$r "
    echo "$r" >> "$B/p/shadowed"
  done
done
# Kubernetes secrets: the folders stay (a guard may look for them), their tokens read empty.
for s in /run/secrets /var/run/secrets; do
  [ -d "$s" ] || continue
  find "$s" -type f ! -name namespace ! -name ca.crt 2>/dev/null | while IFS= read -r f; do
    mount --bind /dev/null "$f" 2>/dev/null || true
  done
done

# -- everything else read-only (the script can write only its scratch space) -------------------
mi=$(cat /proc/self/mountinfo)
printf '%s\n' "$mi" | while read -r _id _par _mm _root mp opts _rest; do
  mp=$(printf '%b' "$mp")
  case "$mp" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*|/tmp|/tmp/*|/var/tmp|/var/tmp/*) continue ;; esac
  case ",$opts," in *,ro,*) continue ;; esac
  mount -o remount,bind,ro "$mp" 2>/dev/null || { echo "buildgate-isolation: cannot make $mp read-only" >&2; exit 1; }
done || exit 125

# -- user namespaces: the script's own has a limit of zero nested ones -------------------------
useru=0
if unshare --user true 2>/dev/null; then
  useru=1
elif setpriv --reuid "$uid" --regid "$uid" --clear-groups --nnp unshare --user true 2>/dev/null; then
  fail "the script could create a user namespace, but buildgate can't make one to contain it"
fi

# -- run: the recorder, the tracer, the script ---------------------------------------------------
cd "$cwd" || fail "cannot enter $cwd"
setpriv --reuid "$uid" --regid "$uid" --clear-groups -- /bin/sh -c 'test -r . && test -x .' \
  || fail "$cwd can't be read by an unprivileged user (uid $uid), which buildgate runs the script as"
cat "$B/calls.fifo" > "$B/p/calls" &
catpid=$!
exec 8> "$B/calls.fifo"
inner='echo $$ > /tmp/.buildgate/p/pid; read _ < /tmp/.buildgate/p/go || exit 125
if [ "$1" = 1 ]; then echo 0 > /proc/sys/user/max_user_namespaces || exit 125; fi
u=$2; shift 2; ulimit -p 512 2>/dev/null || ulimit -u 512 2>/dev/null
exec setpriv --reuid "$u" --regid "$u" --clear-groups --inh-caps=-all --bounding-set=-all --nnp -- env -i "$@"'
set -- /bin/sh -c "$inner" sh "$useru" "$uid" "$@"
[ "$useru" = 1 ] && set -- unshare --user --keep-caps -- "$@"
traced=no
if [ -n "$tracer" ]; then
  set -- "$tracer" -f -q -xx -s 4096 -e signal=none -o "$B/p/trace" \
    -e trace=execve,execveat,chdir,fchdir,connect,sendto,sendmsg,sendmmsg,mount,umount2,fsopen,fsmount,fsconfig,move_mount,open_tree,mount_setattr,pivot_root,chroot,unshare,setns,clone,clone3,fork,vfork,ptrace,io_uring_setup,process_vm_writev \
    -- "$@"
  traced=yes
fi
"$@" < /dev/null > "$B/o/out" 2>&1 8>&- &
bg=$!
n=0
while [ ! -s "$B/p/pid" ]; do
  n=$((n + 1)); [ "$n" -gt 600 ] && fail "the script's process did not start"
  kill -0 "$bg" 2>/dev/null || fail "the script's process did not start: $(head -c 300 "$B/o/out")"
  sleep 0.05
done
pid=$(cat "$B/p/pid")
if [ "$useru" = 1 ]; then
  printf '0 0 1\n%s %s 1\n' "$uid" "$uid" > "/proc/$pid/uid_map" && printf '0 0 1\n%s %s 1\n' "$uid" "$uid" > "/proc/$pid/gid_map" \
    || fail "cannot map the script's uid"
fi
echo go > "$B/p/go"
timed_out=no
ticks=$((limit * 20))
n=0
while :; do
  st=""
  { read -r line < "/proc/$pid/stat"; } 2>/dev/null && { st=${line##*) }; st=${st%% *}; }
  [ -z "$st" ] || [ "$st" = Z ] && break
  n=$((n + 1)); [ "$n" -ge "$ticks" ] && { timed_out=yes; break; }
  sleep 0.05
done
# The script is done (or out of time): end every process it left behind.
left() {
  for s in /proc/[0-9]*/status; do
    while read -r k v _; do
      if [ "$k" = Uid: ]; then [ "$v" = "$uid" ] && return 0; break; fi
    done 2>/dev/null < "$s"
  done
  return 1
}
n=0
while left && [ "$n" -lt 50 ]; do
  setpriv --reuid "$uid" --regid "$uid" --clear-groups -- /bin/sh -c 'kill -9 -1' 2>/dev/null
  n=$((n + 1))
done
wait "$bg"
rc=$?
exec 8>&-
wait "$catpid"

# -- effects left in the scratch space -----------------------------------------------------------
find /tmp /var/tmp /dev/shm -xdev \( -path "$B" -prune \) -o \( -type f \( -name oci-layout -o -name images.json \
  -o -name layers.json -o -name storage.lock -o -name bolt_state.db -o -name db.sql -o -name repositories.json \
  -o -name buildkitd.toml -o -name containers.json \) \) -print -o \( -type d \( -name libpod -o -name 'overlay-images' \
  -o -name 'vfs-images' -o -name 'overlay-layers' -o -name 'vfs-layers' -o -name 'overlay-containers' -o -name buildkit \
  -o -name 'podman-run-*' -o -name 'containers-user-*' -o -name 'buildah*' \) \) -print 2>/dev/null \
  | head -n 50 > "$B/p/artefacts"
files=$(find /tmp /var/tmp /dev/shm -xdev \( -path "$B" -prune \) -o -print 2>/dev/null | wc -l)
free=$(stat -f -c '%a %S' "$B/p" 2>/dev/null) && free=$(( ${free% *} * ${free#* } / 1024 )) || free=0

# -- the report ----------------------------------------------------------------------------------
section() {
  total=$(wc -c < "$2"); shown=$total
  [ "$shown" -gt "$3" ] && shown=$3
  printf '\n@@buildgate %s %s %s\n' "$1" "$shown" "$total"
  head -c "$shown" "$2"
}
# (printed from memory: a script that filled the record folder can't blank the run's facts)
meta=$(printf 'rc=%s\ntimed_out=%s\ntraced=%s\nuserns=%s\nloopback=%s\nscratch_files=%s\nrecords_free_kb=%s' \
  "$rc" "$timed_out" "$traced" "$useru" "$lo" "$files" "$free")
printf '\n@@buildgate meta %s %s\n%s' "${#meta}" "${#meta}" "$meta"
section shadowed "$B/p/shadowed" 65536
section artefacts "$B/p/artefacts" 65536
section calls "$B/p/calls" 1048576
section out "$B/o/out" 1048576
section trace "$B/p/trace" 16777216
exit 0
"""
