#!/usr/bin/env bash
# A throwaway one-node Ceph (a monitor, one OSD in memory, radosgw) on free loopback ports, as the S3 store of
# the tests (CI and `npm run test:full`). Needs: apt-get install -y --no-install-recommends ceph-mon ceph-osd
# radosgw ceph-common. Comes up in a few seconds: no manager, no cephx, pool size one, memstore.
#   scripts/throwaway-ceph.sh up DIR     starts it under DIR, prints the S3 endpoint and writes DIR/env:
#                                        BERTH_TEST_S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
#   scripts/throwaway-ceph.sh down DIR   stops it (DIR is then safe to remove)
set -euo pipefail
action=${1:-}
dir=${2:-}
if [ -z "$dir" ] || { [ "$action" != up ] && [ "$action" != down ]; }; then
  echo "usage: $0 up|down DIR" >&2
  exit 2
fi
dir=$(realpath -m "$dir")
if [ "$action" = down ]; then
  pids=()
  for pidfile in "$dir"/run/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null && pids+=("$pid")
  done
  # The OSD takes a few seconds to stop; a zombie (PID 1 here may not reap) counts as stopped.
  for _ in $(seq 80); do
    alive=0
    for pid in "${pids[@]}"; do
      state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo gone)
      [ "$state" != gone ] && [ "$state" != Z ] && alive=1
    done
    [ "$alive" = 0 ] && break
    sleep 0.25
  done
  exit 0
fi
for tool in ceph-mon ceph-osd radosgw radosgw-admin monmaptool ceph; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "$tool not found (apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common)" >&2; exit 1; }
done
free_port() { node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
rgw_port=$(free_port); mon_v1=$(free_port); mon_v2=$(free_port)
access_key=BERTHTESTACCESSKEY01
secret_key=$(head -c 30 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 40)
mon="[v2:127.0.0.1:$mon_v2,v1:127.0.0.1:$mon_v1]"
mkdir -p "$dir"/{run,log,mon/ceph-a,osd/ceph-0,rgw}
fsid=$(cat /proc/sys/kernel/random/uuid)
cat >"$dir/ceph.conf" <<CONF
[global]
fsid = $fsid
mon initial members = a
mon host = $mon
auth cluster required = none
auth service required = none
auth client required = none
run dir = $dir/run
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.pid
log file = $dir/log/\$name.log
mon cluster log file = $dir/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd crush chooseleaf type = 0
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon data avail crit = 1
paxos propose interval = 0.05
paxos min wait = 0.01
mon data = $dir/mon/\$cluster-\$id
osd data = $dir/osd/\$cluster-\$id
osd objectstore = memstore
memstore device bytes = ${BERTH_TEST_CEPH_BYTES:-2147483648}
[client.rgw.a]
ms mon client mode = crc
auth client required = none
rgw frontends = beast endpoint=127.0.0.1:$rgw_port
rgw data = $dir/rgw
CONF
export CEPH_CONF="$dir/ceph.conf"
monmaptool --create --fsid "$fsid" --addv a "$mon" "$dir/monmap" >/dev/null
# Every daemon puts itself in the background; their pids are in $dir/run/*.pid, which `down` reads.
ceph-mon --mkfs -i a --monmap "$dir/monmap"
ceph-mon -i a
osd_uuid=$(cat /proc/sys/kernel/random/uuid)
osd_id=$(timeout 60 ceph --connect-timeout 20 osd new "$osd_uuid")
ceph-osd -i "$osd_id" --mkfs --osd-uuid "$osd_uuid" 2>>"$dir/log/osd-mkfs.log"
ceph-osd -i "$osd_id" 2>>"$dir/log/osd-stderr.log"
# `ceph` commands can hang without a manager daemon: each one is bounded.
for _ in $(seq 240); do
  timeout 10 ceph osd stat -f json 2>/dev/null | grep -q '"num_up_osds":1' && break
  sleep 0.25
done
radosgw -n client.rgw.a
for _ in $(seq 240); do
  curl -s -o /dev/null "http://127.0.0.1:$rgw_port/" && break
  sleep 0.25
done
timeout 60 radosgw-admin -n client.rgw.a --admin-socket= user create --uid=berth-test --display-name=berth-test \
  --access-key="$access_key" --secret-key="$secret_key" >"$dir/user.json" 2>>"$dir/log/radosgw-admin.log"
cat >"$dir/env" <<ENV
export BERTH_TEST_S3_ENDPOINT=http://127.0.0.1:$rgw_port
export AWS_ACCESS_KEY_ID=$access_key
export AWS_SECRET_ACCESS_KEY=$secret_key
export AWS_REGION=us-east-1
ENV
echo "http://127.0.0.1:$rgw_port"
