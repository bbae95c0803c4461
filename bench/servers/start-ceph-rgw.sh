#!/bin/bash
# Micro Ceph: 1 mon + 1 memstore OSD + radosgw (beast) on 127.0.0.1:7480, cephx off. Stop with stop-ceph-rgw.sh.
# Needs: apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd
set -euo pipefail
D=${1:-${TMPDIR:-/tmp}/pipit-ceph}
rm -rf "$D"; mkdir -p "$D"/mon "$D"/osd "$D"/rgw "$D"/log "$D"/run
FSID=$(cat /proc/sys/kernel/random/uuid)
cat > "$D/ceph.conf" <<EOT
[global]
fsid = $FSID
mon host = v2:127.0.0.1:3300
public network = 127.0.0.1/32
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
osd crush chooseleaf type = 0
osd pool default pg autoscale mode = off
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
run dir = $D/run
log file = $D/log/\$name.log
admin socket = $D/run/\$name.asok
[mon.a]
mon data = $D/mon
[osd.0]
osd data = $D/osd
osd objectstore = memstore
memstore device bytes = 1073741824
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:7480
rgw data = $D/rgw
rgw dns name = localhost
# radosgw forces ms_mon_client_mode=secure, impossible with auth none (hangs, -13)
ms mon client mode = crc
EOT
export CEPH_CONF="$D/ceph.conf"
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:3300]" "$D/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$D/monmap" -c "$CEPH_CONF"
ceph-mon -i a -c "$CEPH_CONF" --pid-file "$D/run/mon.pid"
OSD=$(ceph -c "$CEPH_CONF" osd create)
ceph-osd -i "$OSD" --mkfs -c "$CEPH_CONF" 2>/dev/null
ceph-osd -i "$OSD" -c "$CEPH_CONF" --pid-file "$D/run/osd.pid"
for i in $(seq 1 300); do ceph -c "$CEPH_CONF" osd stat 2>/dev/null | grep -q '1 up' && break; sleep 0.1; done
radosgw -n client.rgw -c "$CEPH_CONF" --pid-file "$D/run/rgw.pid"
for i in $(seq 1 600); do curl -sf -o /dev/null http://127.0.0.1:7480/ && break; sleep 0.1; done
radosgw-admin -c "$CEPH_CONF" user create --uid=pipit --display-name=pipit \
  --access-key=PIPITACCESSKEY0000001 --secret=pipitsecretkey0000000000000000000000000 >/dev/null
echo "ceph rgw up on http://127.0.0.1:7480 (CEPH_CONF=$CEPH_CONF)"
