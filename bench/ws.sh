#!/usr/bin/env bash
# bench/ws.sh: the WebSocket scenarios of bench/run.sh.
#
#   sudo bash bench/ws.sh             # WebSocket scenarios only (~4 min)
#   sudo QUICK=1 bash bench/ws.sh     # smoke test
#   sudo SCENARIOS="hello ws_echo" bash bench/run.sh   # mixed with the others
#
# run.sh sources this file (just before main), which adds three scenarios
# and a "WebSocket" section to the report. Run directly, it runs run.sh
# with SCENARIOS defaulting to these three. The load generator is
# cmd/phpbridge-load (Go), built into the work dir; like everything else it
# is pinned to CLIENT_CPU, bounded in time, and stopped by pid.
#
#   ws_idle    phpbridge's RSS with WS_IDLE_COUNTS (5000 10000 19000) idle
#              WebSocket clients, each having run an open event: sampled
#              2 s after the last handshake, and again after SIGUSR1 (which
#              makes phpbridge collect garbage and return free memory to the
#              OS: "RSS after GC"). Per connection = (RSS - fresh RSS) / N.
#   ws_echo    events/s and p50/p99 at WS_CONNS (100) connections through
#              the echo handler (ws.php), each connection sending a message
#              and waiting for the reply in a loop; against the same PHP
#              work as HTTP POSTs (public/echo.php) on 100 keep-alive
#              connections through nginx and through phpbridge. Also the
#              CPU each event costs the server and the php-fpm children
#              (CPU time over the run / events), which does not depend on
#              which side of the single-CPU closed loop is the bottleneck.
#              Both scripts read one $_SERVER key and echo the body: PHP
#              builds $_SERVER only for scripts that mention it
#              (auto_globals_jit), a WebSocket handler has to (WS_EVENT),
#              and so does every framework's front controller.
#              WS_HTTP_BARE=1 makes echo.php skip it (~10 µs less PHP per
#              request here: not the same work).
#   ws_accept  time to open WS_ACCEPT_N (10000) connections, each with an
#              open event through PHP, WS_ACCEPT_CONCURRENCY (128)
#              handshakes in flight.
#
# Knobs: WS_IDLE_COUNTS, WS_IDLE_ROUNDS (1), WS_CONNS (100), WS_SIZE (32
# bytes), WS_HTTP_BARE (0), WS_ACCEPT_N, WS_ACCEPT_CONCURRENCY, WS_ACCEPT_ROUNDS (3); ROUNDS,
# DURATION, WARMUP as in run.sh.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	export SCENARIOS=${SCENARIOS:-"ws_idle ws_echo ws_accept"}
	exec bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"
fi

SCENARIOS_ALL+=" ws_idle ws_echo ws_accept"
if [[ $QUICK == 1 ]]; then
	WS_IDLE_COUNTS=${WS_IDLE_COUNTS:-"1000 2000"}
	WS_ACCEPT_N=${WS_ACCEPT_N:-2000}
	WS_ACCEPT_ROUNDS=${WS_ACCEPT_ROUNDS:-1}
fi
WS_IDLE_COUNTS=${WS_IDLE_COUNTS:-"5000 10000 19000"}
WS_IDLE_ROUNDS=${WS_IDLE_ROUNDS:-1}
WS_CONNS=${WS_CONNS:-100}
WS_SIZE=${WS_SIZE:-32}
WS_ACCEPT_N=${WS_ACCEPT_N:-10000}
WS_ACCEPT_CONCURRENCY=${WS_ACCEPT_CONCURRENCY:-128}
WS_ACCEPT_ROUNDS=${WS_ACCEPT_ROUNDS:-3}
# WS_TSV rows: kind key round values...
#   idle   N     round fresh_kb with_kb gc_kb opened alive handshake_s
#   echo   run   round rate p50 p99 errors unanswered others_pct starved server_us fpm_us
#   accept N     round seconds rate p50 p99 failed others_pct
WS_TSV=""
WS_SRC=2  # last octet of the next unused source address, $SRC_NET.$WS_SRC

# ws_setup: build the load tool and add the HTTP twin of the echo handler,
# once.
ws_setup() {
	[[ -n $WS_TSV ]] && return 0
	WS_TSV=$WORK/ws.tsv
	: >"$WS_TSV"
	log "building cmd/phpbridge-load"
	(cd "$REPO" && go build -o "$WORK/phpbridge-load" ./cmd/phpbridge-load) || die "cmd/phpbridge-load does not build"
	if [[ ${WS_HTTP_BARE:-0} == 1 ]]; then
		printf '%s' '<?php echo file_get_contents("php://input");' >"$APP/public/echo.php"
	else
		# The HTTP twin of ws.php: the same $_SERVER lookup, the same echo.
		cat >"$APP/public/echo.php" <<'PHP'
<?php
if (($_SERVER['REQUEST_METHOD'] ?? '') === 'POST') {
    echo file_get_contents('php://input');
}
PHP
	fi
}

# cpu_ticks PID...: CPU time (utime + stime, clock ticks) of these
# processes and their children (nginx's worker, php-fpm's pool).
cpu_ticks() {
	local p all=()
	for p in "$@"; do
		[[ -n $p ]] || continue
		all+=("$p")
		mapfile -t -O "${#all[@]}" all < <(pgrep -P "$p" || true)
	done
	((${#all[@]})) || {
		echo 0
		return
	}
	local t=0 s
	for p in "${all[@]}"; do
		s=$(awk '{sub(/^[0-9]+ \(.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + ${s:-0}))
	done
	echo "$t"
}

# us_per_event TICKS RATE SECONDS: CPU microseconds per event, the run
# (warm-up included) taken at the measured rate.
us_per_event() { awk -v t="$1" -v r="$2" -v s="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN {if (r + 0 == 0) print ""; else printf "%.1f\n", t / hz * 1e6 / (r * s)}'; }

ws_record() { (IFS=$'\t' && echo "$*") >>"$WS_TSV"; }

# ws_src N: a first source address for N connections that no earlier run
# used, so TIME_WAIT sockets of the previous run never exhaust its ports.
ws_src() {
	local n=$1 first=$WS_SRC
	WS_SRC=$((WS_SRC + (n + 9999) / 10000))
	((WS_SRC < 250)) || WS_SRC=2
	echo "$SRC_NET.$first"
}

# ws_load ARGS...: the load tool pinned to the client CPU, bounded in time.
ws_load() { timeout 600 taskset -c "$CLIENT_CPU" "$WORK/phpbridge-load" "$@"; }

ws_url() { echo "ws://127.0.0.1:${SIDE_PORT[phpbridge]}/ws"; }

# ws_gc_rss PID: RSS after asking phpbridge to collect garbage (SIGUSR1).
ws_gc_rss() {
	kill -USR1 "$1"
	sleep 1
	rss_kb "$1"
}

# field LINE KEY: the value of KEY=value in a load tool result line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

scenario_ws_idle() {
	ws_setup
	[[ ${SIDE_OK[phpbridge]} == 1 ]] || {
		note "ws_idle skipped: phpbridge is not available"
		return 0
	}
	local n round pid fresh with gc out line ic i
	for ((round = 1; round <= WS_IDLE_ROUNDS; round++)); do
		for n in $WS_IDLE_COUNTS; do
			start_side phpbridge || die "phpbridge did not start for ws_idle"
			pid=${SIDE_PID[phpbridge]}
			fresh=$(ws_gc_rss "$pid")
			out=$WORK/raw/ws-idle-$n-$round.txt
			: >"$out"
			# Not through ws_load: $! must be timeout(1) itself, which passes
			# stop_pid's SIGTERM on to the tool (it then prints DONE).
			timeout 600 taskset -c "$CLIENT_CPU" "$WORK/phpbridge-load" idle -url "$(ws_url)" -n "$n" \
				-src "$(ws_src "$n")" -hold 300s >"$out" 2>&1 &
			ic=$!
			PIDS+=("$ic")
			wait_ready "$out" "$ic" 1200 "phpbridge-load idle -n $n"
			sleep 2
			with=$(rss_kb "$pid")
			gc=$(ws_gc_rss "$pid")
			stop_pid "$ic"
			stop_side phpbridge
			line=$(grep '^READY' "$out")
			ws_record idle "$n" "$round" "$fresh" "$with" "$gc" "$(field "$line" opened)" "$(field "$(grep '^DONE' "$out" || true)" alive)" "$(field "$line" seconds)"
			log "ws_idle $n: RSS $fresh KiB fresh, $with KiB with $n idle WebSocket clients, $gc KiB after GC ($(awk -v a="$fresh" -v b="$gc" -v n="$n" 'BEGIN {printf "%.2f", (b - a) / n}') KiB/conn)"
		done
	done
}

scenario_ws_echo() {
	ws_setup
	local round side out line others others_top srv0 srv1 fpm0 fpm1 srv_us fpm_us
	local -a runs=()
	[[ ${SIDE_OK[phpbridge]} == 1 ]] && runs+=(ws:phpbridge)
	runs+=(http:nginx)
	[[ ${SIDE_OK[nginx-nokeep]:-0} == 1 ]] && runs+=(http:nginx-nokeep)
	[[ ${SIDE_OK[phpbridge]} == 1 ]] && runs+=(http:phpbridge)
	for ((round = 1; round <= ROUNDS; round++)); do
		for run in "${runs[@]}"; do
			side=${run#*:}
			start_side "$side" || die "$side did not start for ws_echo"
			out=$WORK/raw/ws-echo-${run/:/-}-$round.txt
			proc_snapshot "$WORK/snap0"
			srv0=$(cpu_ticks "${SIDE_PID[$side]}") fpm0=$(cpu_ticks "$FPM_PID")
			if [[ ${run%%:*} == ws ]]; then
				ws_load echo -url "$(ws_url)" -c "$WS_CONNS" -d "${DURATION}s" -warmup "${WARMUP}s" -size "$WS_SIZE" -src "$(ws_src "$WS_CONNS")" >"$out" 2>&1 || true
				line=$(grep '^ECHO' "$out" || true)
			else
				ws_load http -url "$(url_of "$side" /echo.php)" -c "$WS_CONNS" -d "${DURATION}s" -warmup "${WARMUP}s" -size "$WS_SIZE" -src "$(ws_src "$WS_CONNS")" >"$out" 2>&1 || true
				line=$(grep '^HTTP' "$out" || true)
			fi
			srv1=$(cpu_ticks "${SIDE_PID[$side]}") fpm1=$(cpu_ticks "$FPM_PID")
			proc_snapshot "$WORK/snap1"
			read -r others others_top < <(others_pct "$WORK/snap0" "$WORK/snap1" $((DURATION + WARMUP)))
			stop_side "$side"
			srv_us=$(us_per_event $((srv1 - srv0)) "$(field "$line" rate)" $((DURATION + WARMUP)))
			fpm_us=$(us_per_event $((fpm1 - fpm0)) "$(field "$line" rate)" $((DURATION + WARMUP)))
			[[ -n $line ]] || {
				cat "$out" >&2
				die "phpbridge-load against $run gave no result"
			}
			((others <= OTHERS_MAX)) || note "ws_echo $run round $round was disturbed: other processes used $others% of a CPU meanwhile ($others_top)"
			ws_record echo "$run" "$round" "$(field "$line" rate)" "$(field "$line" p50_ms)" "$(field "$line" p99_ms)" "$(field "$line" errors)" "$(field "$line" unanswered_at_end)" "$others" "$(field "$line" starved)" "$srv_us" "$fpm_us"
			log "ws_echo round $round/$ROUNDS $run: $line, CPU per event: server $srv_us µs, php-fpm $fpm_us µs, others' CPU $others%"
			[[ $(field "$line" errors) == 0 ]] || note "ws_echo $run round $round: $(field "$line" errors) connection errors"
		done
	done
}

scenario_ws_accept() {
	ws_setup
	[[ ${SIDE_OK[phpbridge]} == 1 ]] || {
		note "ws_accept skipped: phpbridge is not available"
		return 0
	}
	local round out line others others_top
	for ((round = 1; round <= WS_ACCEPT_ROUNDS; round++)); do
		start_side phpbridge || die "phpbridge did not start for ws_accept"
		out=$WORK/raw/ws-accept-$round.txt
		proc_snapshot "$WORK/snap0"
		SECONDS=0
		ws_load accept -url "$(ws_url)" -n "$WS_ACCEPT_N" -concurrency "$WS_ACCEPT_CONCURRENCY" -src "$(ws_src "$WS_ACCEPT_N")" >"$out" 2>&1 || true
		proc_snapshot "$WORK/snap1"
		read -r others others_top < <(others_pct "$WORK/snap0" "$WORK/snap1" $((SECONDS > 0 ? SECONDS : 1)))
		stop_side phpbridge # waits for the close events of the connections just closed
		line=$(grep '^ACCEPT' "$out" || true)
		[[ -n $line ]] || {
			cat "$out" >&2
			die "phpbridge-load accept gave no result"
		}
		ws_record accept "$WS_ACCEPT_N" "$round" "$(field "$line" seconds)" "$(field "$line" rate)" "$(field "$line" p50_ms)" "$(field "$line" p99_ms)" "$(field "$line" failed)" "$others"
		log "ws_accept round $round/$WS_ACCEPT_ROUNDS: $line, others' CPU $others%"
		((others <= OTHERS_MAX)) || note "ws_accept round $round was disturbed: other processes used $others% of a CPU meanwhile ($others_top)"
	done
}

# ws_both RUN: median server + php-fpm CPU µs per event.
ws_both() { awk -v a="$(wsmed echo "$1" 11)" -v b="$(wsmed echo "$1" 12)" 'BEGIN {if (a != "" && b != "") printf "%.1f", a + b}'; }

# wsmed KIND KEY COLUMN: median of COLUMN (4 = first value) over rounds.
wsmed() { awk -F'\t' -v k="$1" -v key="$2" -v c="$3" '$1 == k && $2 == key {print $c}' "$WS_TSV" | median; }

# ws_echo_row TITLE RUN: one line of the echo table, medians over rounds.
ws_echo_row() {
	local srv fpm
	srv=$(wsmed echo "$2" 11) fpm=$(wsmed echo "$2" 12)
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$(cell "$(wsmed echo "$2" 4)")" "$(cell "$(wsmed echo "$2" 5)")" \
		"$(cell "$(wsmed echo "$2" 6)")" "$(cell "$(wsmed echo "$2" 10)")" "$(cell "$srv")" "$(cell "$fpm")" \
		"$(cell "$(awk -v a="$srv" -v b="$fpm" 'BEGIN {if (a != "" && b != "") printf "%.1f", a + b}')")"
}

ws_report() {
	[[ -n $WS_TSV && -s $WS_TSV ]] || return 0
	local n fresh with gc first last
	echo
	echo "## WebSocket"
	echo
	if grep -q '^idle' "$WS_TSV"; then
		echo "Idle WebSocket connections (each ran an open event), phpbridge RSS; \"after GC\" = after SIGUSR1 (runtime.GC + FreeOSMemory)."
		echo
		echo "| connections | RSS fresh (KiB) | RSS with clients (KiB) | KiB/conn | RSS after GC (KiB) | KiB/conn after GC | handshake time (s) |"
		echo "|---:|---:|---:|---:|---:|---:|---:|"
		for n in $WS_IDLE_COUNTS; do
			fresh=$(wsmed idle "$n" 4) with=$(wsmed idle "$n" 5) gc=$(wsmed idle "$n" 6)
			[[ -n $fresh ]] || continue
			printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$n" "$fresh" "$with" \
				"$(awk -v a="$fresh" -v b="$with" -v n="$n" 'BEGIN {printf "%.2f", (b - a) / n}')" "$gc" \
				"$(awk -v a="$fresh" -v b="$gc" -v n="$n" 'BEGIN {printf "%.2f", (b - a) / n}')" "$(wsmed idle "$n" 9)"
		done
		read -r first last < <(echo "$WS_IDLE_COUNTS" | awk '{print $1, $NF}')
		if [[ $first != "$last" && -n $(wsmed idle "$first" 6) && -n $(wsmed idle "$last" 6) ]]; then
			echo
			echo "Slope from $first to $last connections after GC: $(awk -v a="$(wsmed idle "$first" 6)" -v b="$(wsmed idle "$last" 6)" -v n="$first" -v m="$last" 'BEGIN {printf "%.2f", (b - a) / (m - n)}') KiB per connection."
		fi
		echo
	fi
	if grep -q '^echo' "$WS_TSV"; then
		local ws ng nk pb
		ws=$(wsmed echo ws:phpbridge 4) ng=$(wsmed echo http:nginx 4) nk=$(wsmed echo http:nginx-nokeep 4) pb=$(wsmed echo http:phpbridge 4)
		echo "Echo through PHP at $WS_CONNS connections, ${WS_SIZE}-byte messages, closed loop (each connection waits for its reply), median of $ROUNDS round(s) of ${DURATION}s:"
		echo
		echo "| | events or requests/s | p50 (ms) | p99 (ms) | connections never answered while measuring | server CPU µs/event | php-fpm CPU µs/event | both |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|"
		ws_echo_row "WebSocket messages, phpbridge → ws.php" ws:phpbridge
		ws_echo_row "HTTP POST, ${SIDE_TITLE[nginx]} → echo.php" http:nginx
		[[ -n $nk ]] && ws_echo_row "HTTP POST, ${SIDE_TITLE[nginx-nokeep]} → echo.php" http:nginx-nokeep
		ws_echo_row "HTTP POST, phpbridge → echo.php" http:phpbridge
		echo
		echo "Ratio WebSocket messages / HTTP requests (≥ 1.0: a message costs no more than an AJAX poll): / ${SIDE_TITLE[nginx]} $(ratio "$ws" "$ng"); / ${SIDE_TITLE[nginx-nokeep]} $(ratio "$ws" "$nk"); / phpbridge HTTP $(ratio "$ws" "$pb")."
		echo "A round trip still unanswered when a run ends counts in p50/p99 with the time it had waited (a server that starves connections shows there), not in the rate."
		echo "CPU per event: CPU time of the server (with its children) and of the php-fpm pool over the run, warm-up included, divided by the measured rate times the run's length. The server and php-fpm share CPU $SERVER_CPU, so \"both\" is what bounds the rate; ratio of \"both\", nginx / WebSocket (≥ 1.0: a message costs no more CPU than the request): $(ratio "$(ws_both http:nginx)" "$(ws_both ws:phpbridge)") against ${SIDE_TITLE[nginx]}, $(ratio "$(ws_both http:nginx-nokeep)" "$(ws_both ws:phpbridge)") against ${SIDE_TITLE[nginx-nokeep]}."
		[[ ${WS_HTTP_BARE:-0} == 1 ]] && echo "WS_HTTP_BARE=1: echo.php did not read \$_SERVER, so PHP skipped building it for HTTP but not for ws.php: not the same PHP work."
		echo
	fi
	if grep -q '^accept' "$WS_TSV"; then
		echo "Accepting $WS_ACCEPT_N connections, each with an open event through PHP, $WS_ACCEPT_CONCURRENCY handshakes in flight, median of $WS_ACCEPT_ROUNDS round(s):"
		echo
		echo "| connections | seconds | connections/s | handshake p50 (ms) | p99 (ms) | failed |"
		echo "|---:|---:|---:|---:|---:|---:|"
		printf '| %s | %s | %s | %s | %s | %s |\n' "$WS_ACCEPT_N" "$(wsmed accept "$WS_ACCEPT_N" 4)" "$(wsmed accept "$WS_ACCEPT_N" 5)" \
			"$(wsmed accept "$WS_ACCEPT_N" 6)" "$(wsmed accept "$WS_ACCEPT_N" 7)" "$(wsmed accept "$WS_ACCEPT_N" 8)"
		echo
	fi
	echo "<details><summary>every WebSocket run</summary>"
	echo
	echo '```'
	cat "$WS_TSV"
	echo '```'
	echo
	echo "</details>"
}

# The report gets a WebSocket section after run.sh's own.
eval "$(declare -f report | sed '1s/^report /__ws_report_http /')"
report() {
	__ws_report_http
	ws_report
}
