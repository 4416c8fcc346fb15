#!/usr/bin/env bash
# A single-node Slurm cluster on this machine, for tests of `llmbench slurm`.
#
#   scripts/slurm-local.sh start    install slurm-wlm and munge when missing (as root, apt-get),
#                                   write a configuration, start munged, slurmctld and slurmd
#   scripts/slurm-local.sh stop     stop them (idempotent)
#   scripts/slurm-local.sh test     start, run the Slurm tests of cmd/llmbench, stop (also on failure)
#   scripts/slurm-local.sh env      print the SLURM_CONF line for a shell to eval
#
# Everything the cluster writes is under $SLURM_STATE (default outputs/slurm-cluster). The
# configuration is the minimal one that works in containers: ProctrackType=proctrack/linuxproc,
# TaskPlugin=task/none, no accounting database (llmbench reads each task's exit status from the
# job's own output, not from sacct).
set -euo pipefail

cd "$(dirname "$0")/.."
STATE=${SLURM_STATE:-$PWD/outputs/slurm-cluster}
CONF=$STATE/slurm.conf
export SLURM_CONF=$CONF

log() { echo "slurm-local: $*" >&2; }

install() {
	if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then
		return
	fi
	if [ "$(id -u)" != 0 ]; then
		log "slurm-wlm and munge are not installed, and only root can install them (apt-get install slurm-wlm munge)"
		exit 1
	fi
	log "installing slurm-wlm and munge"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
}

write_conf() {
	local node cpus mem
	node=$(hostname -s)
	cpus=$(nproc)
	# Leave 1 GiB to the system; --mem requests are checked against the rest.
	mem=$(($(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) - 1024))
	mkdir -p "$STATE"/{state,spool,log,run}
	cat >"$CONF" <<EOF
# Written by scripts/slurm-local.sh: one node, this machine.
ClusterName=llmbench
SlurmctldHost=$node(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=$STATE/state
SlurmdSpoolDir=$STATE/spool
SlurmctldPidFile=$STATE/run/slurmctld.pid
SlurmdPidFile=$STATE/run/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldPort=${SLURMCTLD_PORT:-6817}
SlurmdPort=${SLURMD_PORT:-6818}
KillWait=5
MinJobAge=300
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
}

start_munge() {
	if [ -S /run/munge/munge.socket.2 ] && munge -n </dev/null >/dev/null 2>&1; then
		return
	fi
	mkdir -p /run/munge /var/log/munge /var/lib/munge
	chown munge:munge /run/munge /var/log/munge /var/lib/munge
	if [ ! -s /etc/munge/munge.key ]; then
		dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 2>/dev/null
	fi
	chown munge:munge /etc/munge/munge.key
	chmod 400 /etc/munge/munge.key
	runuser -u munge -- /usr/sbin/munged
	touch "$STATE/run/munged.ours" # stop ends only a munged this script started
	munge -n </dev/null | unmunge >/dev/null
	log "munged running"
}

start() {
	install
	stop 2>/dev/null || true
	write_conf
	mkdir -p "$STATE/run"
	start_munge
	slurmctld -f "$CONF" -c
	slurmd -f "$CONF"
	# Wait for the node to be idle (up to 60 s).
	for _ in $(seq 60); do
		state=$(sinfo -h -N -o %T 2>/dev/null || true)
		if [ "$state" = idle ]; then
			log "cluster up: $(sinfo -h -o '%P %D %c %m %T' 2>/dev/null) (SLURM_CONF=$CONF)"
			return
		fi
		if [[ $state == *drain* || $state == *down* ]]; then
			scontrol update nodename="$(hostname -s)" state=resume 2>/dev/null || true
		fi
		sleep 1
	done
	log "the node did not become idle: $(sinfo -N 2>&1)"
	tail -20 "$STATE"/log/*.log >&2 || true
	exit 1
}

# stop ends the daemons this script started: by their pid files, never by name.
stop() {
	for d in slurmd slurmctld; do
		pidfile=$STATE/run/$d.pid
		if [ -s "$pidfile" ]; then
			pid=$(cat "$pidfile")
			kill "$pid" 2>/dev/null || true
			for _ in $(seq 20); do
				kill -0 "$pid" 2>/dev/null || break
				sleep 0.5
			done
			kill -9 "$pid" 2>/dev/null || true
			rm -f "$pidfile"
		fi
	done
	if [ -e "$STATE/run/munged.ours" ] && [ -s /run/munge/munged.pid ]; then
		kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
		rm -f /run/munge/munged.pid "$STATE/run/munged.ours"
	fi
}

case ${1:-} in
start) start ;;
stop)
	stop
	log "cluster stopped"
	;;
env) echo "export SLURM_CONF=$CONF" ;;
test)
	trap 'stop; log "cluster stopped"' EXIT
	start
	LLMBENCH_SLURM=1 ${GO:-go} test -count=1 -timeout 10m -run 'Slurm' -v ./cmd/llmbench/ 2>&1 |
		grep -v '^=== \(RUN\|PAUSE\|CONT\)'
	;;
*)
	echo "usage: $0 start|stop|test|env" >&2
	exit 2
	;;
esac
