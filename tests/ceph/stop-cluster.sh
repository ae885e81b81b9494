#!/bin/bash
# Stops a cluster started by tests/ceph/start-cluster.sh DIR: the OSD
# first (so it does not wait for a monitor that is gone), then the
# monitor; TERM, then KILL after 10 s. Leaves DIR in place (its logs may
# be wanted); the caller removes it.
#
# usage: tests/ceph/stop-cluster.sh DIR
set -u

dir=${1:?usage: stop-cluster.sh DIR}

running() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
	case $state in '' | Z | X | x) return 1 ;; esac	# 't' (traced) is running
}

stop_pid() {
	local pidfile=$1 pid i
	[ -s "$pidfile" ] || return 0
	pid=$(cat "$pidfile")
	if running "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for i in $(seq 1 100); do
			running "$pid" || break
			sleep 0.1
		done
		if running "$pid"; then
			echo "stop-cluster: $pidfile ($pid) ignored SIGTERM; killing it" >&2
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	rm -f "$pidfile"
}

stop_pid "$dir/osd.pid"
stop_pid "$dir/mon.pid"
exit 0
