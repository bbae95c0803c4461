#!/bin/bash
# Starts a one-node SLURM cluster (munged + slurmctld + slurmd) as root, no systemd, no cgroups.
# Usage: start-slurm.sh [DIR]   (DIR defaults to ${TMPDIR:-/tmp}/pipit-slurm). Stop with stop-slurm.sh [DIR].
set -euo pipefail
D=${1:-${TMPDIR:-/tmp}/pipit-slurm}
HOST=$(hostname -s)            # slurmctld insists SlurmctldHost == its own short hostname
# CPUs the node offers: more than it has (slurm.conf's config_overrides), so
# that the tests' jobs, mostly asleep, run side by side.
CPUS=$(( $(nproc) * 8 ))
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))   # MiB the node offers jobs
mkdir -p "$D"/state "$D"/spool
# munged runs as the munge user, which may not traverse DIR (mktemp dirs are
# 0700): keep its files under /run and link them into DIR for stop-slurm.sh
M=/run/pipit-munge/$(printf '%s' "$D" | md5sum | cut -c1-12)
mkdir -p "$M" && chown munge:munge "$M" && ln -sfn "$M" "$D"/munge
# munge: needs a key readable only by the munge user; Debian's package creates /etc/munge/munge.key
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
mkdir -p /run/munge && chown munge:munge /run/munge
runuser -u munge -- /usr/sbin/munged --pid-file="$M"/munged.pid --log-file="$M"/munged.log
sed -e "s#@D@#$D#g" -e "s#@HOST@#$HOST#g" -e "s#@CPUS@#$CPUS#g" -e "s#@MEM@#$MEM#g" "$(dirname "$0")"/slurm.conf.in > "$D"/slurm.conf
export SLURM_CONF="$D"/slurm.conf
/usr/sbin/slurmctld -c -f "$SLURM_CONF"      # -c: clear old state; daemonizes, pid in $D/slurmctld.pid
/usr/sbin/slurmd    -c -f "$SLURM_CONF" -N pipitnode
# ready = a batch job has run to COMPLETED (without sched_interval=1 the first batch
# scheduling pass can come up to 60 s after slurmctld starts)
for i in $(seq 1 100); do [ "$(sinfo -h -o %t 2>/dev/null)" = idle ] && break; sleep 0.1; done   # node registered
j=$(sbatch --parsable -o /dev/null -J warmup --wrap true)     # note: -Q would suppress --parsable output
for i in $(seq 1 200); do            # up to ~20 s
  case "$(scontrol show job -o "$j" 2>/dev/null)" in *JobState=COMPLETED*) echo "slurm up, SLURM_CONF=$SLURM_CONF"; exit 0;; esac
  sleep 0.1
done
echo "slurm failed to come up"; tail -n 20 "$D"/slurmctld.log "$D"/slurmd.log; exit 1
