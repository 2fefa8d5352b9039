#!/usr/bin/env bash
# Two private ClickHouse servers on 127.0.0.1 as the two shards of a cluster
# "fleet" (Debian's clickhouse-server 18.16), for tests/integration/fleet.sh
# and `make fleet`. Never the system's server or its ports: each has its own
# config, data directory and free ports under DIR.
#   clickhouse.sh start DIR   start both, wait until they answer (prints the time)
#   clickhouse.sh stop DIR    stop both (TERM, then KILL after 20 s); safe to repeat
#   clickhouse.sh client DIR N ARGS...   clickhouse-client on shard N (1 or 2)
set -u
cmd=${1:?usage: clickhouse.sh start|stop|client DIR ...} dir=${2:?DIR}
server=/usr/sbin/clickhouse-server

free_ports() {	# N free TCP ports on 127.0.0.1
	python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

write_config() {	# N TCP_PORT HTTP_PORT INTERSERVER_PORT TCP1 TCP2
	local d=$dir/s$1
	mkdir -p "$d/data" "$d/tmp" "$d/user_files" "$d/format_schemas"
	cat >"$d/config.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$d/server.log</log><errorlog>$d/server.err.log</errorlog>
    <size>10M</size><count>1</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <tcp_port>$2</tcp_port>
  <http_port>$3</http_port>
  <interserver_http_port>$4</interserver_http_port>
  <path>$d/data/</path>
  <tmp_path>$d/tmp/</tmp_path>
  <user_files_path>$d/user_files/</user_files_path>
  <format_schema_path>$d/format_schemas/</format_schema_path>
  <users_config>$d/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <uncompressed_cache_size>268435456</uncompressed_cache_size>
  <mlock_executable>false</mlock_executable>
  <max_concurrent_queries>20</max_concurrent_queries>
  <remote_servers>
    <fleet>
      <shard><replica><host>127.0.0.1</host><port>$5</port></replica></shard>
      <shard><replica><host>127.0.0.1</host><port>$6</port></replica></shard>
    </fleet>
  </remote_servers>
</yandex>
XML
	cat >"$d/users.xml" <<XML
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
XML
	echo "$2" >"$d/port"
}

port() { cat "$dir/s$1/port"; }

client() {
	local n=$1; shift
	clickhouse-client --host 127.0.0.1 --port "$(port "$n")" "$@"
}

case $cmd in
start)
	[ -x "$server" ] || { echo "clickhouse.sh: $server missing (tools/install-deps.sh --fleet)" >&2; exit 2; }
	mkdir -p "$dir"
	read -r p1 h1 i1 p2 h2 i2 <<<"$(free_ports 6)"
	write_config 1 "$p1" "$h1" "$i1" "$p1" "$p2"
	write_config 2 "$p2" "$h2" "$i2" "$p1" "$p2"
	t0=${EPOCHREALTIME/./}
	for n in 1 2; do
		(cd "$dir/s$n" && exec "$server" --config-file="$dir/s$n/config.xml" \
			>"$dir/s$n/stdout.log" 2>&1) &
		echo $! >"$dir/s$n/pid"
	done
	for n in 1 2; do
		up=""
		for _ in $(seq 1200); do	# 60 s
			client "$n" --query 'SELECT 1' >/dev/null 2>&1 && { up=1; break; }
			kill -0 "$(cat "$dir/s$n/pid")" 2>/dev/null || break
			sleep 0.05
		done
		if [ -z "$up" ]; then
			echo "clickhouse.sh: shard $n did not answer within 60 s: $(tail -n 3 "$dir/s$n/server.err.log" "$dir/s$n/stdout.log" 2>/dev/null | tr '\n' ' ' | cut -c1-400)" >&2
			exit 1
		fi
	done
	awk -v d=$((${EPOCHREALTIME/./} - t0)) 'BEGIN { printf "clickhouse: 2 shards up in %.2f s\n", d / 1e6 }'
	;;
stop)
	for n in 1 2; do
		f=$dir/s$n/pid
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -TERM "$pid" 2>/dev/null
		for _ in $(seq 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		rm -f "$f"
	done
	;;
client)
	n=${3:?shard 1 or 2}; shift 3
	client "$n" "$@"
	;;
*)
	echo "usage: clickhouse.sh start|stop|client DIR ..." >&2; exit 2 ;;
esac
