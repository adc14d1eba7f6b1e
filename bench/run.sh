#!/usr/bin/env bash
# bench/run.sh: phpbridge vs nginx 1.22 in front of the same PHP-FPM pool.
#
#   sudo bash bench/run.sh            # full run (~6 min)
#   sudo QUICK=1 bash bench/run.sh    # smoke test: 3 s runs, 1 round (~1 min)
#
# What it does, in one go (methodology in docs/benchmarks.md):
#   1. builds phpbridge (go build ./cmd/phpbridge) and bench/idleconns; if
#      phpbridge does not build, or does not answer the smoke checks, it
#      benchmarks nginx alone and says so in the report;
#   2. creates a throw-away app (public/index.php front controller, a 4 KiB
#      static file) and ONE php-fpm pool (pm=static, 8 children, Debian's fpm
#      php.ini so opcache is on) that every server uses;
#   3. servers ("sides"): nginx as users configure it in front of
#      Laravel/ThinkPHP (upstream keepalive 16 + fastcgi_keep_conn), the same
#      nginx without upstream keepalive (the Laravel-docs config), phpbridge;
#   4. pins servers and php-fpm to CPU 0, the load generator to CPU 1; each
#      timed run starts its server fresh, warms it up, measures, stops it
#      (so no server holds FPM children while another is measured); runs are
#      interleaved A B C A B C ...; medians and ratios go in the report;
#   5. writes the report to bench/results/<date>.md (gitignored) and the raw
#      wrk/idleconns output next to it.
#
# Adding a scenario: write a function scenario_<name> (use bench_http for a
# wrk run over HTTP, or start_side/stop_side + record_row/record_mem for other
# measurements), add <name> to SCENARIOS_ALL, and give it rows in report().
#
# Knobs (environment):
#   QUICK=1               3 s runs, 1 round, 1 s warm-up (smoke test)
#   SCENARIOS="..."       subset/order of: hello static idle   (default: all)
#   ROUNDS DURATION WARMUP CONNS IDLE_CONNS IDLE_ROUNDS FPM_CHILDREN
#   SERVER_CPU=0 CLIENT_CPU=1
#   OTHERS_MAX=15         flag runs during which other processes used more
#                         than this % of a CPU (shared machines)
#   NGINX_PORT NGINX_NOKEEP_PORT PHPBRIDGE_PORT   first port tried
#   NGINX_UPSTREAM_KEEPALIVE=16   keepalive of the main nginx side
#   NGINX_NOKEEP=0        skip the no-upstream-keepalive nginx side
#   PHPBRIDGE_BIN=/path   use this binary instead of building one
#   PHPBRIDGE_ARGS="..."  extra flags for `phpbridge serve`
#                         (default: --fastcgi-max-conns $FPM_CHILDREN)
#   SKIP_PHPBRIDGE=1      nginx only
#   KEEP_WORK=1           keep the temp dir (configs, logs) after a good run
#   NO_APT=1              never call apt-get
set -Eeuo pipefail
trap 'echo "[bench] failed (exit $?) at line $LINENO: $BASH_COMMAND" >&2' ERR

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
	ROUNDS=${ROUNDS:-1}
	DURATION=${DURATION:-3}
	WARMUP=${WARMUP:-1}
	IDLE_ROUNDS=${IDLE_ROUNDS:-1}
else
	ROUNDS=${ROUNDS:-5}
	DURATION=${DURATION:-10}
	WARMUP=${WARMUP:-2}
	IDLE_ROUNDS=${IDLE_ROUNDS:-3}
fi
DURATION=${DURATION%s}
WARMUP=${WARMUP%s}
CONNS=${CONNS:-32}
OTHERS_MAX=${OTHERS_MAX:-15}
IDLE_CONNS=${IDLE_CONNS:-1000}
FPM_CHILDREN=${FPM_CHILDREN:-8}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
NGINX_WORKER_CONNECTIONS=${NGINX_WORKER_CONNECTIONS:-4096}
NGINX_UPSTREAM_KEEPALIVE=${NGINX_UPSTREAM_KEEPALIVE:-16}
NGINX_NOKEEP=${NGINX_NOKEEP:-1}
# SRC_NET: the load generators' source addresses are $SRC_NET.2, .3, …; the
# third octet changes every 10 s, so a run never dials from the addresses
# of the run before, whose TIME_WAIT sockets (60 s) would slow its dials.
SRC_NET=${SRC_NET:-127.0.$(($(date +%s) / 10 % 250 + 1))}
# php-fpm does not report its pool size over FastCGI, so phpbridge is told,
# as its start-up warning asks: at most pm.max_children requests in flight.
PHPBRIDGE_ARGS=${PHPBRIDGE_ARGS---fastcgi-max-conns $FPM_CHILDREN}
SCENARIOS_ALL="hello static idle"
SCENARIOS=${SCENARIOS:-$SCENARIOS_ALL}

STAMP=$(date +%Y-%m-%d_%H%M%S)
RESULTS_DIR=$REPO/bench/results
REPORT=$RESULTS_DIR/$STAMP.md

# Sides, in the order they run within a round.
SIDES_ALL=(nginx nginx-nokeep phpbridge)
declare -A SIDE_OK=([nginx]=1 [nginx-nokeep]=$NGINX_NOKEEP [phpbridge]=0)
declare -A SIDE_PORT=([nginx]=${NGINX_PORT:-18080} [nginx-nokeep]=${NGINX_NOKEEP_PORT:-18085} [phpbridge]=${PHPBRIDGE_PORT:-18090})
declare -A SIDE_PID=()
declare -A SIDE_TITLE=(
	[nginx]="nginx 1.22 (upstream keepalive $NGINX_UPSTREAM_KEEPALIVE)"
	[nginx-nokeep]="nginx 1.22 (no upstream keepalive)"
	[phpbridge]="phpbridge"
)
[[ $NGINX_UPSTREAM_KEEPALIVE == 0 ]] && SIDE_TITLE[nginx]="nginx 1.22 (no upstream keepalive)"

WORK=""
APP=""
FPM_SOCK=""
FPM_PID=""
PIDS=() # every process this script started and that may still run, by pid
PB_NOTE=""
BUILD_COMMIT=""
NOTES=()
LOAD_BEFORE=""

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
	log "FATAL: $*"
	exit 1
}
note() {
	NOTES+=("$*")
	log "NOTE: $*"
}

# ---------------------------------------------------------------- processes

# children_of PID: the pids whose parent is PID.
children_of() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true; }

# forget_pid PID: drop PID from PIDS once it is gone, so cleanup never
# signals a pid number the kernel may have handed to someone else.
forget_pid() {
	local p keep=()
	for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	PIDS=("${keep[@]}")
}

# stop_pid PID: TERM, wait up to 5 s for a graceful exit (nginx and php-fpm
# take their workers down with them); only if it is still there, KILL it and
# the children it has, by pid.
stop_pid() {
	local pid=$1 kids i
	[[ -n $pid ]] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "pid $pid ignored SIGTERM for 5 s; killing it"
			kids=$(children_of "$pid")
			# shellcheck disable=SC2086
			kill -KILL "$pid" $kids 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
	forget_pid "$pid"
}

cleanup() {
	local rc=$? i
	trap - EXIT INT TERM ERR
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[i]}"
	done
	if [[ -n $WORK && -d $WORK ]]; then
		if [[ ${KEEP_WORK:-0} == 1 || $rc != 0 ]]; then
			log "work dir kept: $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
	exit "$rc"
}

# port_busy PORT: true when something accepts on 127.0.0.1:PORT.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# free_port PORT: PORT or the next port nobody listens on.
free_port() {
	local p=$1
	while port_busy "$p"; do p=$((p + 1)); done
	echo "$p"
}

# owns_port PID PORT: true when PID (nginx: the master) holds the listening
# socket on 127.0.0.1:PORT. Other jobs on a shared machine may grab a port
# between two runs; a check on "something answers" alone would then time
# somebody else's server.
owns_port() { ss -Hltnp "sport = :$2" 2>/dev/null | grep -q "pid=$1,"; }

# wait_port NAME PID PORT LOG: wait (10 s max) until PID listens on PORT,
# failing early if the process died.
wait_port() {
	local name=$1 pid=$2 port=$3 logf=$4 i
	for ((i = 0; i < 100; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$name exited during start-up; its log:"
			tail -n 20 "$logf" >&2 || true
			return 1
		fi
		owns_port "$pid" "$port" && return 0
		sleep 0.1
	done
	log "$name (pid $pid) did not listen on 127.0.0.1:$port within 10 s; listeners there: $(ss -Hltnp "sport = :$port" 2>/dev/null | tr -s ' ')"
	tail -n 20 "$logf" >&2 || true
	return 1
}

# wait_ready FILE PID TENTHS WHAT: waits (up to TENTHS × 0.1 s) until a load
# tool writing FILE prints its READY line; dies if it exits or never does.
wait_ready() {
	local out=$1 pid=$2 tenths=$3 what=$4 i
	for ((i = 0; i < tenths; i++)); do
		grep -q '^READY' "$out" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^READY' "$out" && return 0
	cat "$out" >&2
	die "$what did not get ready"
}

# rss_kb PID: VmRSS (from /proc/PID/status) of PID plus its direct children
# (nginx: master + worker; phpbridge: the one process), in KiB.
rss_kb() {
	local total=0 p v
	for p in "$1" $(children_of "$1"); do
		v=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
		total=$((total + ${v:-0}))
	done
	echo "$total"
}

# ---------------------------------------------------------------- setup

require_root() {
	[[ $(id -u) == 0 ]] || die "run as root (php-fpm runs with -R): sudo bash bench/run.sh"
}

ensure_packages() {
	local missing=() cmd
	local -A want=([php-fpm8.2]=php8.2-fpm [nginx]=nginx-light [wrk]=wrk [taskset]=util-linux [curl]=curl [ps]=procps [ss]=iproute2)
	for cmd in "${!want[@]}"; do
		command -v "$cmd" >/dev/null 2>&1 || [[ -x /usr/sbin/$cmd ]] || missing+=("${want[$cmd]}")
	done
	((${#missing[@]})) || return 0
	[[ ${NO_APT:-0} == 1 ]] && die "missing packages: ${missing[*]} (and NO_APT=1)"
	log "installing: ${missing[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

build_tools() {
	if ! command -v go >/dev/null && [[ -f $REPO/scripts/lib.sh ]]; then
		# shellcheck source=/dev/null
		source "$REPO/scripts/lib.sh"
		ensure_go
	fi
	command -v go >/dev/null || die "go is not installed (needed for phpbridge and bench/idleconns)"
	log "building bench/idleconns"
	(cd "$REPO" && go build -o "$WORK/idleconns" ./bench/idleconns) || die "bench/idleconns does not build"

	if [[ ${SKIP_PHPBRIDGE:-0} == 1 ]]; then
		PB_NOTE="skipped (SKIP_PHPBRIDGE=1)"
		return 0
	fi
	if [[ -n ${PHPBRIDGE_BIN:-} ]]; then
		[[ -x $PHPBRIDGE_BIN ]] || die "PHPBRIDGE_BIN=$PHPBRIDGE_BIN is not executable"
		cp "$PHPBRIDGE_BIN" "$WORK/phpbridge"
		SIDE_OK[phpbridge]=1
		return 0
	fi
	log "building phpbridge (go build ./cmd/phpbridge)"
	BUILD_COMMIT=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo '?')
	BUILD_COMMIT+=$(cd "$REPO" && git diff --quiet HEAD -- cmd bridge fastcgi internal go.mod go.sum 2>/dev/null || echo ' + uncommitted changes')
	if (cd "$REPO" && go build -o "$WORK/phpbridge" ./cmd/phpbridge) >"$WORK/build.log" 2>&1; then
		SIDE_OK[phpbridge]=1
	else
		PB_NOTE="does not build yet: $(grep -v '^#' "$WORK/build.log" | head -n 1)"
		note "phpbridge $PB_NOTE; benchmarking nginx only"
	fi
}

make_app() {
	APP=$WORK/app
	mkdir -p "$APP/public"
	# The front controller: / and every path that is not a file
	# (/hello?x=1) end here, as in Laravel and ThinkPHP.
	printf '%s' '<?php echo "Hello, World!";' >"$APP/public/index.php"
	# Exactly 4096 bytes of text.
	yes 'phpbridge benchmark: a static text file of exactly 4096 bytes.' | head -c 4096 >"$APP/public/static-4k.txt" || true
	[[ $(stat -c %s "$APP/public/static-4k.txt") == 4096 ]] || die "static-4k.txt is not 4096 bytes"
	# phpbridge's default --ws-handler (./ws.php, outside public/): an echo
	# handler in the raw event contract, for the WebSocket scenarios to come.
	cat >"$APP/ws.php" <<'PHP'
<?php
if (($_SERVER['WS_EVENT'] ?? '') === 'message') {
    echo file_get_contents('php://input');
}
PHP
}

start_fpm() {
	FPM_SOCK=$WORK/fpm.sock
	cat >"$WORK/php-fpm.conf" <<EOF
[global]
pid = $WORK/php-fpm.pid
error_log = $WORK/php-fpm.log
daemonize = no

[bench]
listen = $FPM_SOCK
listen.backlog = 511
pm = static
pm.max_children = $FPM_CHILDREN
pm.max_requests = 0
clear_env = no
catch_workers_output = yes
EOF
	log "starting php-fpm (pm=static, $FPM_CHILDREN children, CPU $SERVER_CPU)"
	taskset -c "$SERVER_CPU" php-fpm8.2 -F -R -y "$WORK/php-fpm.conf" >>"$WORK/php-fpm.log" 2>&1 &
	local pid=$! i
	PIDS+=("$pid")
	FPM_PID=$pid
	for ((i = 0; i < 100; i++)); do
		[[ -S $FPM_SOCK ]] && break
		kill -0 "$pid" 2>/dev/null || {
			cat "$WORK/php-fpm.log" >&2
			die "php-fpm exited"
		}
		sleep 0.1
	done
	[[ -S $FPM_SOCK ]] || die "php-fpm socket $FPM_SOCK did not appear"
	FPM_OPCACHE=$(php-fpm8.2 -i 2>/dev/null | awk -F' => ' '/^opcache.enable =>/ {v = $2} END {print v}' || true)
	log "php-fpm up (pid $pid, opcache.enable => ${FPM_OPCACHE:-?})"
}

# write_nginx_conf SIDE KEEPALIVE: configured as the seeds and the Laravel
# docs do: try_files to the front controller, fastcgi_params, one worker
# pinned to one core like phpbridge (see docs/benchmarks.md).
write_nginx_conf() {
	local side=$1 ka=$2 dir=$WORK/$1 upstream keep_conn
	mkdir -p "$dir/tmp"
	if [[ $ka == 0 ]]; then
		upstream="server unix:$FPM_SOCK;"
		keep_conn="# no fastcgi_keep_conn: one FastCGI connection per request"
	else
		upstream="server unix:$FPM_SOCK;
        keepalive $ka;"
		keep_conn="fastcgi_keep_conn on;"
	fi
	cat >"$dir/nginx.conf" <<EOF
user root;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $dir/nginx.pid;
error_log $dir/error.log warn;

events {
    worker_connections $NGINX_WORKER_CONNECTIONS;
}

http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    access_log off;

    client_body_temp_path $dir/tmp/body;
    fastcgi_temp_path $dir/tmp/fastcgi;
    proxy_temp_path $dir/tmp/proxy;
    scgi_temp_path $dir/tmp/scgi;
    uwsgi_temp_path $dir/tmp/uwsgi;

    upstream php {
        $upstream
    }

    server {
        listen 127.0.0.1:${SIDE_PORT[$side]};
        server_name localhost;
        root $APP/public;
        index index.php index.html;

        location / {
            try_files \$uri \$uri/ /index.php?\$query_string;
        }

        location ~ \.php\$ {
            fastcgi_pass php;
            $keep_conn
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            include /etc/nginx/fastcgi_params;
        }
    }
}
EOF
}

# start_side SIDE: start that server pinned to SERVER_CPU and wait until it
# listens. Returns non-zero if it does not come up.
start_side() {
	local side=$1 pid logf port=${SIDE_PORT[$1]}
	if port_busy "$port"; then
		SIDE_PORT[$side]=$(free_port $((port + 1)))
		log "port $port is taken ($(ss -Hltnp "sport = :$port" 2>/dev/null | tr -s ' ')); $side moves to ${SIDE_PORT[$side]}"
	fi
	case $side in
	nginx | nginx-nokeep)
		if [[ $side == nginx ]]; then write_nginx_conf nginx "$NGINX_UPSTREAM_KEEPALIVE"; else write_nginx_conf nginx-nokeep 0; fi
		logf=$WORK/$side/error.log
		taskset -c "$SERVER_CPU" nginx -p "$WORK/$side" -e "$logf" \
			-c "$WORK/$side/nginx.conf" -g 'daemon off;' >>"$logf" 2>&1 &
		pid=$!
		;;
	phpbridge)
		logf=$WORK/phpbridge.log
		# cwd = the app, so the defaults ./public and ./ws.php hold too.
		# shellcheck disable=SC2086
		(cd "$APP" && exec taskset -c "$SERVER_CPU" "$WORK/phpbridge" serve \
			--listen "127.0.0.1:${SIDE_PORT[phpbridge]}" --root "$APP/public" \
			--fastcgi "unix:$FPM_SOCK" --access-log off \
			--control "unix:$WORK/control.sock" $PHPBRIDGE_ARGS) >>"$logf" 2>&1 &
		pid=$!
		;;
	*) die "unknown side $side" ;;
	esac
	PIDS+=("$pid")
	SIDE_PID[$side]=$pid
	wait_port "$side" "$pid" "${SIDE_PORT[$side]}" "$logf"
}

# stop_side SIDE: stop it, which also closes every FastCGI connection it held,
# so the next server finds all FPM children free.
stop_side() {
	stop_pid "${SIDE_PID[$1]:-}"
	SIDE_PID[$1]=""
}

url_of() { echo "http://127.0.0.1:${SIDE_PORT[$1]}$2"; }

# check_side SIDE: the answers must be right before anything is timed, so a
# fast 404 or 502 can never pass for a fast server.
check_side() {
	local side=$1 out code body size path
	for path in / '/hello?x=1'; do
		out=$(curl -sS --max-time 5 -w '\n%{http_code}' "$(url_of "$side" "$path")" 2>&1) || {
			log "$side GET $path: $out"
			return 1
		}
		code=${out##*$'\n'}
		body=${out%$'\n'*}
		if [[ $code != 200 || $body != "Hello, World!" ]]; then
			log "$side GET $path: status $code, body '${body:0:200}' (want 200 'Hello, World!')"
			return 1
		fi
	done
	read -r code size < <(curl -sS --max-time 5 -o /dev/null -w '%{http_code} %{size_download}\n' "$(url_of "$side" /static-4k.txt)" 2>&1) || true
	if [[ $code != 200 || $size != 4096 ]]; then
		log "$side GET /static-4k.txt: status $code, $size bytes (want 200, 4096)"
		return 1
	fi
}

# bring_up SIDE: start, check, stop, once before any scenario. A side that
# fails is left out of every scenario.
bring_up() {
	local side=$1
	if start_side "$side" && check_side "$side"; then
		log "$side answers correctly on 127.0.0.1:${SIDE_PORT[$side]}"
		stop_side "$side"
		return 0
	fi
	stop_side "$side"
	return 1
}

# ---------------------------------------------------------------- measuring

RUNS_TSV="" # scenario side round rps p50 p99 non2xx socket_errors others_cpu_pct
MEM_TSV=""  # side round before_kb with_kb opened alive

record_row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "${9:-}" >>"$RUNS_TSV"; }
record_mem() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$MEM_TSV"; }

# sides_for SIDE...: those of the given sides that work, in run order.
sides_for() {
	local s
	for s in "$@"; do [[ ${SIDE_OK[$s]:-0} == 1 ]] && echo "$s"; done
	return 0
}

# run_wrk URL SECONDS OUTFILE
run_wrk() {
	local url=$1 secs=$2 out=$3
	timeout $((secs + 30)) taskset -c "$CLIENT_CPU" \
		wrk -t1 -c"$CONNS" -d"${secs}s" --latency "$url" >"$out" 2>&1 || {
		log "wrk $url failed:"
		cat "$out" >&2
		return 1
	}
}

# proc_snapshot FILE: "pid ppid cputicks name" of every process (utime +
# stime), for others_pct. Children's time (cutime) is left out: it lands in
# the parent only when the child is reaped, so a long job finishing during a
# run would count whole.
proc_snapshot() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk '{
		pid = $1; s = $0; sub(/^[0-9]+ \(.*\) /, "", s); split(s, f, " ")
		c = $0; sub(/^[0-9]+ \(/, "", c); sub(/\) [^)]*$/, "", c); gsub(/[^A-Za-z0-9_.:-]/, "_", c)
		print pid, f[2], f[12] + f[13], c
	}' >"$1" || true
}

# others_pct SNAP0 SNAP1 SECONDS: CPU used between the two snapshots by
# processes that are not this script or its descendants (servers, php-fpm,
# wrk), in % of one CPU, then the biggest users ("name:pct,..."). Kernel
# threads are left out (loopback softirq work done for us lands there), and so
# are processes that started and ended between the snapshots: it is a lower
# bound. A few % is noise; tens of % mean other jobs competed for the CPUs.
others_pct() {
	awk -v me="$$" -v hz="$(getconf CLK_TCK)" -v secs="$3" '
		FNR == NR { t0[$1] = $3; par[$1] = $2; next }
		{ t1[$1] = $3; par[$1] = $2; name[$1] = $4 }
		END {
			ours[me] = 1
			do {
				changed = 0
				for (p in par) if (!(p in ours) && (par[p] in ours)) { ours[p] = 1; changed = 1 }
			} while (changed)
			for (p in t1) {
				if (p in ours || p == 2 || par[p] == 2) continue
				d = (p in t0) ? t1[p] - t0[p] : t1[p]
				if (d > 0) { sum += d; by[name[p]] += d }
			}
			top = ""
			for (k = 0; k < 3; k++) {
				best = ""
				for (n in by) if (best == "" || by[n] > by[best]) best = n
				if (best == "" || by[best] / hz / secs * 100 < 1) break
				top = top (top == "" ? "" : ",") sprintf("%s:%.0f%%", best, by[best] / hz / secs * 100)
				delete by[best]
			}
			printf "%.0f %s\n", sum / hz / secs * 100, (top == "" ? "-" : top)
		}' "$1" "$2"
}

# parse_wrk FILE -> "rps p50_ms p99_ms non2xx socket_errors"
parse_wrk() {
	awk '
	function ms(v) {
		if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
		if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
		if (v ~ /m$/)  return substr(v, 1, length(v) - 1) * 60000
		if (v ~ /s$/)  return substr(v, 1, length(v) - 1) * 1000
		return v + 0
	}
	/^ +50%/ { p50 = ms($2) }
	/^ +99%/ { p99 = ms($2) }
	/^Requests\/sec:/ { rps = $2 }
	/Non-2xx or 3xx responses:/ { bad = $NF }
	/Socket errors:/ { gsub(",", ""); serr = $4 + $6 + $8 + $10 }
	END {
		if (rps == "") exit 1
		printf "%.0f %.3f %.3f %d %d\n", rps, p50, p99, bad, serr
	}' "$1"
}

# bench_http NAME PATH SIDE...: ROUNDS rounds; in each, every side in turn is
# started fresh, warmed up for WARMUP s, measured for DURATION s and stopped.
bench_http() {
	local name=$1 path=$2 round side out parsed sides others others_top
	shift 2
	mapfile -t sides < <(sides_for "$@")
	for ((round = 1; round <= ROUNDS; round++)); do
		for side in "${sides[@]}"; do
			start_side "$side" || die "$side did not start for $name round $round"
			check_side "$side" || die "$side answered wrongly before $name round $round"
			run_wrk "$(url_of "$side" "$path")" "$WARMUP" "$WORK/raw/$name-$side-$round-warmup.txt"
			out=$WORK/raw/$name-$side-$round.txt
			proc_snapshot "$WORK/snap0"
			run_wrk "$(url_of "$side" "$path")" "$DURATION" "$out"
			proc_snapshot "$WORK/snap1"
			read -r others others_top < <(others_pct "$WORK/snap0" "$WORK/snap1" "$DURATION")
			stop_side "$side"
			parsed=$(parse_wrk "$out") || die "cannot parse wrk output $out"
			# shellcheck disable=SC2086
			record_row "$name" "$side" "$round" $parsed "$others"
			log "$name round $round/$ROUNDS $side: $(awk '{printf "%s req/s, p50 %s ms, p99 %s ms, non-2xx %s, socket errors %s", $1, $2, $3, $4, $5}' <<<"$parsed"), others' CPU $others%"
			# shellcheck disable=SC2086
			set -- $parsed
			(($4 == 0 && $5 == 0)) || note "$name $side round $round: $4 non-2xx responses, $5 socket errors (wrk counts a request older than 2 s as a timeout)"
			((others <= OTHERS_MAX)) || note "$name $side round $round was disturbed: other processes used $others% of a CPU meanwhile ($others_top)"
		done
	done
}

# ---------------------------------------------------------------- scenarios

# scenario_hello: hello-world PHP through the front controller: /hello?x=1 is
# no file, so it falls back to /index.php like every framework route.
scenario_hello() { bench_http hello '/hello?x=1' nginx nginx-nokeep phpbridge; }

# scenario_static: a 4 KiB static file from public/. Upstream keepalive plays
# no part, so the no-keepalive nginx is not run.
scenario_static() { bench_http static /static-4k.txt nginx phpbridge; }

# scenario_idle: server RSS on a freshly started server (after one request),
# then with IDLE_CONNS idle keep-alive clients that each made one request
# (GET /static-4k.txt) and now sit idle.
scenario_idle() {
	local round side pid before with out line opened alive ic i sides
	mapfile -t sides < <(sides_for nginx phpbridge)
	for ((round = 1; round <= IDLE_ROUNDS; round++)); do
		for side in "${sides[@]}"; do
			start_side "$side" || die "$side did not start for idle round $round"
			check_side "$side" || die "$side answered wrongly before idle round $round"
			pid=${SIDE_PID[$side]}
			curl -sS --max-time 5 -o /dev/null "$(url_of "$side" /static-4k.txt)"
			sleep 1
			before=$(rss_kb "$pid")
			out=$WORK/raw/idle-$side-$round.txt
			taskset -c "$CLIENT_CPU" "$WORK/idleconns" -target "127.0.0.1:${SIDE_PORT[$side]}" \
				-n "$IDLE_CONNS" -path /static-4k.txt -hold 120s >"$out" 2>&1 &
			ic=$!
			PIDS+=("$ic")
			wait_ready "$out" "$ic" 600 "idleconns against $side"
			sleep 2
			with=$(rss_kb "$pid")
			stop_pid "$ic"
			stop_side "$side"
			line=$(grep '^DONE' "$out" || true)
			opened=$(sed -n 's/.*opened=\([0-9]*\).*/\1/p' <<<"$line")
			alive=$(sed -n 's/.*alive=\([0-9]*\).*/\1/p' <<<"$line")
			opened=${opened:-0} alive=${alive:-0}
			record_mem "$side" "$round" "$before" "$with" "$opened" "$alive"
			log "idle round $round/$IDLE_ROUNDS $side: RSS $before KiB fresh, $with KiB with $opened idle clients ($alive still open at the end)"
			((opened == IDLE_CONNS)) || note "idle $side round $round: only $opened/$IDLE_CONNS connections opened"
			((alive == opened)) || note "idle $side round $round: the server closed $((opened - alive)) idle connections"
		done
	done
}

# ---------------------------------------------------------------- report

median() { sort -g | awk '{a[NR] = $1} END {if (NR == 0) exit; if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }

# med SCENARIO SIDE COLUMN (4 = req/s, 5 = p50, 6 = p99)
med() { awk -F'\t' -v s="$1" -v d="$2" -v c="$3" '$1 == s && $2 == d {print $c}' "$RUNS_TSV" | median; }
# memmed SIDE COLUMN (3 = fresh, 4 = with clients); memper SIDE: KiB per client
memmed() { awk -F'\t' -v d="$1" -v c="$2" '$1 == d {print $c}' "$MEM_TSV" | median; }
memper() { awk -F'\t' -v d="$1" '$1 == d && $5 > 0 {printf "%.2f\n", ($4 - $3) / $5}' "$MEM_TSV" | median; }

# spread SCENARIO SIDE COLUMN: "min–max" over the rounds, to show the noise.
spread() { awk -F'\t' -v s="$1" -v d="$2" -v c="$3" '$1 == s && $2 == d {if (n++ == 0 || $c < lo) lo = $c; if ($c > hi) hi = $c} END {if (n) printf "%s–%s\n", lo, hi}' "$RUNS_TSV"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b + 0 == 0) print "—"; else if (a / b >= 0.1) printf "%.2f\n", a / b; else printf "%.3f\n", a / b}'; }
cell() { if [[ -n $1 ]]; then printf '%s' "$1"; else printf '—'; fi; }

# row LABEL METRIC NGINX NGINX_NOKEEP PHPBRIDGE
row() {
	printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$2" "$(cell "$3")" "$(cell "$4")" "$(cell "$5")" \
		"$(ratio "$5" "$3")" "$(ratio "$5" "$4")"
}

report() {
	local s
	echo "# phpbridge vs nginx: $STAMP"
	echo
	if [[ ${SIDE_OK[phpbridge]} == 1 ]]; then
		echo "phpbridge: measured, built from ${BUILD_COMMIT:-a prebuilt binary (PHPBRIDGE_BIN)}."
	else
		echo "**phpbridge: not yet measured** — $PB_NOTE. Its columns are empty."
	fi
	echo
	echo "Medians over $ROUNDS round(s) of ${DURATION}s (\`wrk -t1 -c$CONNS --latency\`, after ${WARMUP}s warm-up), every run on a freshly"
	echo "started server, runs interleaved; idle memory: median of $IDLE_ROUNDS round(s) with $IDLE_CONNS keep-alive clients."
	echo "Ratios are phpbridge / nginx: for req/s higher is better, for latency and memory lower is better."
	echo "wrk's percentiles are corrected for coordinated omission: a few stalled requests raise p99 a lot."
	echo
	echo "| scenario | metric | ${SIDE_TITLE[nginx]} | ${SIDE_TITLE[nginx-nokeep]} | phpbridge | phpbridge / nginx | phpbridge / nginx no-keepalive |"
	echo "|---|---|---:|---:|---:|---:|---:|"
	for s in $SCENARIOS; do
		case $s in
		hello | static)
			local label
			if [[ $s == hello ]]; then label="hello PHP via front controller (\`/hello?x=1\`, $CONNS conns)"; else label="4 KiB static file ($CONNS conns)"; fi
			row "$label" "req/s" "$(med "$s" nginx 4)" "$(med "$s" nginx-nokeep 4)" "$(med "$s" phpbridge 4)"
			printf '| | req/s min–max | %s | %s | %s | | |\n' "$(cell "$(spread "$s" nginx 4)")" "$(cell "$(spread "$s" nginx-nokeep 4)")" "$(cell "$(spread "$s" phpbridge 4)")"
			row "" "p50 latency (ms)" "$(med "$s" nginx 5)" "$(med "$s" nginx-nokeep 5)" "$(med "$s" phpbridge 5)"
			row "" "p99 latency (ms)" "$(med "$s" nginx 6)" "$(med "$s" nginx-nokeep 6)" "$(med "$s" phpbridge 6)"
			;;
		idle)
			row "$IDLE_CONNS idle keep-alive clients" "RSS fresh (KiB)" "$(memmed nginx 3)" "" "$(memmed phpbridge 3)"
			row "" "RSS with clients (KiB)" "$(memmed nginx 4)" "" "$(memmed phpbridge 4)"
			row "" "KiB per idle client" "$(memper nginx)" "" "$(memper phpbridge)"
			;;
		esac
	done
	echo
	if ((${#NOTES[@]})); then
		echo "Notes:"
		echo
		for s in "${NOTES[@]}"; do echo "- $s"; done
		echo
	fi
	echo "## Every run"
	echo
	if [[ -s $RUNS_TSV ]]; then
		echo "| scenario | server | round | req/s | p50 ms | p99 ms | non-2xx | socket errors | others' CPU % |"
		echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
		awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9}' "$RUNS_TSV"
		echo
	fi
	if [[ -s $MEM_TSV ]]; then
		echo "| idle memory | round | RSS fresh KiB | RSS with clients KiB | opened | still open at end |"
		echo "|---|---:|---:|---:|---:|---:|"
		awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6}' "$MEM_TSV"
		echo
	fi
	echo "## Environment"
	echo
	echo '```'
	echo "date:        $(date -R)"
	echo "uname -a:    $(uname -a)"
	echo "CPU:         $(lscpu | awk -F: '/^Model name/ {gsub(/^ +/, "", $2); print $2; exit}') ($(nproc) CPUs online)"
	echo "memory:      $(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
	echo "load avg:    $LOAD_BEFORE before, $(cut -d' ' -f1-3 /proc/loadavg) after"
	echo "nginx:       $(nginx -v 2>&1)"
	echo "php-fpm:     $(php-fpm8.2 -v | head -n 1), opcache.enable => ${FPM_OPCACHE:-?}, pm=static x $FPM_CHILDREN"
	echo "wrk:         $({ wrk --version 2>&1 || true; } | sed -n '1s/ Copyright.*//p')"
	echo "go:          $(go version)"
	if [[ ${SIDE_OK[phpbridge]} == 1 ]]; then
		echo "phpbridge:   $(timeout 5 "$WORK/phpbridge" version </dev/null 2>/dev/null | head -n 1 || true) (${BUILD_COMMIT:-PHPBRIDGE_BIN})"
		echo "             phpbridge serve --listen 127.0.0.1:PORT --root \$APP/public --fastcgi unix:\$WORK/fpm.sock --access-log off --control unix:\$WORK/control.sock $PHPBRIDGE_ARGS"
	fi
	echo "settings:    QUICK=$QUICK ROUNDS=$ROUNDS DURATION=${DURATION}s WARMUP=${WARMUP}s CONNS=$CONNS IDLE_CONNS=$IDLE_CONNS IDLE_ROUNDS=$IDLE_ROUNDS"
	echo "pinning:     servers + php-fpm on CPU $SERVER_CPU, wrk/idleconns on CPU $CLIENT_CPU"
	echo '```'
	echo
	echo "<details><summary>nginx.conf (upstream keepalive side)</summary>"
	echo
	echo '```nginx'
	sed "s#$WORK#\$WORK#g" "$WORK/nginx/nginx.conf"
	echo '```'
	echo
	echo "</details>"
}

# ---------------------------------------------------------------- main

main() {
	require_root
	ensure_packages
	WORK=$(mktemp -d /tmp/phpbridge-bench.XXXXXX)
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	mkdir -p "$WORK/raw" "$RESULTS_DIR"
	RUNS_TSV=$WORK/runs.tsv
	MEM_TSV=$WORK/mem.tsv
	: >"$RUNS_TSV"
	: >"$MEM_TSV"
	LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
	ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

	local s side
	for s in $SCENARIOS; do
		declare -F "scenario_$s" >/dev/null || die "unknown scenario '$s' (known: $SCENARIOS_ALL)"
	done

	build_tools
	make_app
	start_fpm
	for side in "${SIDES_ALL[@]}"; do
		SIDE_PORT[$side]=$(free_port "${SIDE_PORT[$side]}")
	done

	bring_up nginx || die "nginx does not answer correctly (see above); nothing to compare with"
	if [[ ${SIDE_OK[nginx-nokeep]} == 1 ]] && ! bring_up nginx-nokeep; then
		die "nginx without upstream keepalive does not answer correctly (see above)"
	fi
	if [[ ${SIDE_OK[phpbridge]} == 1 ]] && ! bring_up phpbridge; then
		SIDE_OK[phpbridge]=0
		PB_NOTE="builds but does not serve the bench app correctly yet ($(grep -v '^\s*$' "$WORK/phpbridge.log" 2>/dev/null | tail -n 1 | cut -c1-200))"
		note "phpbridge $PB_NOTE; benchmarking nginx only"
	fi

	for s in $SCENARIOS; do
		log "scenario $s"
		"scenario_$s"
	done

	report >"$REPORT"
	mkdir -p "$RESULTS_DIR/$STAMP-raw"
	cp "$WORK"/raw/* "$RESULTS_DIR/$STAMP-raw/" 2>/dev/null || true
	echo
	cat "$REPORT"
	echo
	log "report: ${REPORT#"$REPO"/} (raw wrk/idleconns output: bench/results/$STAMP-raw/)"
}

# WebSocket scenarios (ws_idle ws_echo ws_accept) and their report section.
# shellcheck source=bench/ws.sh
source "$REPO/bench/ws.sh"

# Control-API scenarios (push fanout) and their report section.
# shellcheck source=bench/push.sh
source "$REPO/bench/push.sh"

main "$@"
