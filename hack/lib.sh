# shellcheck shell=bash
# Helpers shared by hack/cluster, hack/ferretdb and hack/node (sourced, not run).
#
# A service's state lives in one directory that holds a marker file, one NAME.pid file per
# process it started, their logs and an `env` file with the exports it prints. A process
# counts as ours only while it is alive AND its command line mentions the state directory,
# so a PID recycled after a crash (or a reboot) is never mistaken for ours or killed.

die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }
say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }

# free_port: print a TCP port on 127.0.0.1 that nobody listens on right now.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# port_open PORT: true when something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# owned DIR PID: PID is alive and was started with a path under DIR/ in its arguments.
owned() {
  local dir=$1 pid=$2
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$dir/"
}

# pid_of DIR NAME: the recorded PID of NAME (empty if none).
pid_of() { cat "$1/$2.pid" 2>/dev/null || true; }

# all_alive DIR NAME...: every named process of DIR is ours and alive.
all_alive() {
  local dir=$1 name; shift
  [ -f "$dir/env" ] || return 1
  for name in "$@"; do owned "$dir" "$(pid_of "$dir" "$name")" || return 1; done
}

# spawn DIR NAME CMD...: start CMD detached (own session, no inherited stdio, so a caller
# that captures our output is not held open), log to DIR/NAME.log, record DIR/NAME.pid.
spawn() {
  local dir=$1 name=$2; shift 2
  setsid "$@" </dev/null >>"$dir/$name.log" 2>&1 9>&- &
  echo $! >"$dir/$name.pid"
  echo "$name" >>"$dir/started"
}

# stop_one DIR NAME: stop NAME if its recorded PID is still ours (TERM, then KILL after 10 s).
stop_one() {
  local dir=$1 pid
  pid=$(pid_of "$dir" "$2")
  owned "$dir" "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do owned "$dir" "$pid" || break; sleep 0.1; done
  if owned "$dir" "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
}

# stop_all DIR: stop every process spawned in DIR that is still ours, in the reverse order
# of their start. Nothing else is signalled.
stop_all() {
  local dir=$1 name
  [ -f "$dir/started" ] || return 0
  for name in $(tac "$dir/started"); do stop_one "$dir" "$name"; done
}

# fresh_dir DIR MARKER: make DIR an empty state dir carrying MARKER. An existing DIR is
# removed only when it carries MARKER (it is one of ours), never an unrelated directory.
fresh_dir() {
  local dir=$1 marker=$2
  if [ -e "$dir" ]; then
    [ -f "$dir/$marker" ] || [ -z "$(ls -A "$dir" 2>/dev/null)" ] ||
      die "$dir exists and is not a $marker state dir; refusing to touch it"
    rm -rf "$dir"
  fi
  mkdir -p "$dir"
  chmod 700 "$dir"
  touch "$dir/$marker"
}

# remove_dir DIR MARKER: remove DIR if it is one of ours.
remove_dir() {
  local dir=$1 marker=$2
  [ -e "$dir" ] || return 0
  [ -f "$dir/$marker" ] || die "$dir is not a $marker state dir; refusing to remove it"
  rm -rf "$dir"
}

# with_lock DIR: serialize up/down on DIR (two test sessions starting at once).
with_lock() {
  exec 9>"$1.lock"
  flock -w 300 9 || die "timed out waiting for the lock $1.lock"
}
