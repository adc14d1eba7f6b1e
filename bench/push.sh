#!/usr/bin/env bash
# bench/push.sh: the control-API scenarios of bench/run.sh — pushes from
# PHP and broadcast fan-out.
#
#   sudo bash bench/push.sh                 # push + fanout (~4 min)
#   sudo QUICK=1 bash bench/push.sh         # smoke test (~1 min)
#   sudo SCENARIOS="push fanout" bash bench/run.sh   # the same through run.sh
#
# run.sh sources this file (after ws.sh, just before main), which adds two
# scenarios and a "Push and fan-out" section to the report. Run directly,
# it runs run.sh with SCENARIOS defaulting to these two. Methodology and
# results: docs/benchmarks.md, "Push and fan-out".
#
#   push    PUSH_CONNS (1000) idle WebSocket clients held by
#           `phpbridge-load count` (which counts what each receives), then,
#           in a closed loop for DURATION s after WARMUP s, one pusher at a
#           time sends PUSH_SIZE-byte (32) text messages to them in turn:
#             php        bench/push.php, the PHP SDK ($server->push(), curl
#                        transport, one keep-alive connection), one push per
#                        control call
#             php-batch  the same, PUSH_BATCH (100) pushes per call
#                        ($server->batch())
#             php-stream one push per call over the SDK's stream transport
#                        (PHP without ext-curl: a connection per call)
#             go         phpbridge-load push: raw /v1/actions from Go, one
#                        bare push action per call (the bridge's own cost,
#                        without PHP's)
#             go-batch   the same, PUSH_BATCH actions per call
#           pushes/s, per-call p50/p99; after each pusher the clients'
#           count must have grown by exactly what the bridge reported sent.
#           Every round starts phpbridge fresh; PUSH_ROUNDS (3) rounds,
#           pushers interleaved, medians.
#   fanout  FANOUT_N (10000) WebSocket clients (`phpbridge-load fanout`),
#           FANOUT_K (20) broadcasts through the control API, one every
#           FANOUT_INTERVAL (1s) after FANOUT_WARMUP_K (1) unrecorded one,
#           each a FANOUT_SIZE-byte (64) text message carrying its send time;
#           per broadcast the time until the last client has it and p50/p99
#           over the clients, messages delivered per second, and
#           phpbridge's CPU (/proc/PID/stat utime+stime and the threads'
#           schedstat) while delivering. Losses are counted and reported.
#           FANOUT_ROUNDS (1) fresh servers.
#
# Everything is pinned like the rest of run.sh (phpbridge and php-fpm on
# SERVER_CPU, clients and pushers on CLIENT_CPU), bounded by timeout(1) and
# the tools' own limits, and stopped by pid.

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	export SCENARIOS=${SCENARIOS:-"push fanout"}
	exec bash "$(dirname "${BASH_SOURCE[0]}")/run.sh" "$@"
fi

SCENARIOS_ALL+=" push fanout"
if [[ $QUICK == 1 ]]; then
	PUSH_ROUNDS=${PUSH_ROUNDS:-1}
	FANOUT_N=${FANOUT_N:-2000}
	FANOUT_K=${FANOUT_K:-5}
fi
PUSH_CONNS=${PUSH_CONNS:-1000}
PUSH_ROUNDS=${PUSH_ROUNDS:-3}
PUSH_SIZE=${PUSH_SIZE:-32}
PUSH_BATCH=${PUSH_BATCH:-100}
PUSH_PUSHERS=${PUSH_PUSHERS:-"php php-batch php-stream go go-batch"}
FANOUT_N=${FANOUT_N:-10000}
FANOUT_K=${FANOUT_K:-20}
FANOUT_INTERVAL=${FANOUT_INTERVAL:-1s}
FANOUT_WARMUP_K=${FANOUT_WARMUP_K:-1}
FANOUT_SIZE=${FANOUT_SIZE:-64}
FANOUT_ROUNDS=${FANOUT_ROUNDS:-1}
PUSH_TSV=""   # pusher round rate call_rate p50 p99 errors pushes sent delivered others_pct others_top max
FANOUT_TSV="" # round n k expected received lost last_p50 last_max p50 p99 rate cpu_s cpu_pct cpu_ticks_s window_s run_s run_cpu_s call_p50 cpu_sys_ticks_s client_cpu_pct others_pct others_top
PUSH_SRC=120  # last octet of the next source address (ws.sh counts up from 2)
PUSH_TOKEN=""

# push_setup: build the load tool, fix the control token (phpbridge reads
# PHPBRIDGE_CONTROL_TOKEN from its environment, so it stays out of ps), once.
push_setup() {
	[[ -n $PUSH_TSV ]] && return 0
	PUSH_TSV=$WORK/push.tsv
	FANOUT_TSV=$WORK/fanout.tsv
	: >"$PUSH_TSV"
	: >"$FANOUT_TSV"
	log "building cmd/phpbridge-load (push)"
	(cd "$REPO" && go build -o "$WORK/phpbridge-load-push" ./cmd/phpbridge-load) || die "cmd/phpbridge-load does not build"
	command -v php >/dev/null || die "php (the CLI) is not installed (php8.2-cli)"
	php -r 'exit(extension_loaded("curl") ? 0 : 1);' || note "push: PHP CLI has no ext-curl; the SDK's php and php-batch rows use streams"
	PUSH_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	export PHPBRIDGE_CONTROL_TOKEN=$PUSH_TOKEN
}

# push_record FILE VALUES...: one tab-separated row.
push_record() {
	local f=$1
	shift
	(IFS=$'\t' && echo "$*") >>"$f"
}

# push_src N: a first source address for N connections no earlier run used.
push_src() {
	local first=$PUSH_SRC
	PUSH_SRC=$((PUSH_SRC + ($1 + 9999) / 10000))
	((PUSH_SRC < 250)) || PUSH_SRC=120
	echo "$SRC_NET.$first"
}

# pfield LINE KEY: the value of KEY=value in a result line.
pfield() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }

# push_tool_pid PID: the load tool under timeout(1) PID.
push_tool_pid() { children_of "$1" | head -n 1; }

# wait_line FILE REGEX PID SECONDS: wait until FILE has a line matching
# REGEX, failing if PID exits or SECONDS pass.
wait_line() {
	local i
	for ((i = 0; i < $4 * 10; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.1
	done
	grep -q "$2" "$1"
}

# push_count TOOLPID OUT: ask the counting clients for their total.
push_count() {
	local before i
	before=$(grep -c '^COUNT' "$2" || true)
	kill -USR1 "$1"
	for ((i = 0; i < 50; i++)); do
		(($(grep -c '^COUNT' "$2" || true) > before)) && break
		sleep 0.1
	done
	pfield "$(grep '^COUNT' "$2" | tail -n 1)" received
}

# push_run PUSHER ROUND OUT: one pusher's closed loop against the control
# socket of the running phpbridge.
push_run() {
	local pusher=$1 out=$3 ctl="unix:$WORK/control.sock"
	local -a env=(env PHPBRIDGE_CONTROL="$ctl" PHPBRIDGE_TOKEN="$PUSH_TOKEN")
	local -a php=(timeout $((DURATION + WARMUP + 60)) taskset -c "$CLIENT_CPU" php "$REPO/bench/push.php"
		--seconds="$DURATION" --warmup="$WARMUP" --size="$PUSH_SIZE")
	local -a go=(timeout $((DURATION + WARMUP + 60)) taskset -c "$CLIENT_CPU" "$WORK/phpbridge-load-push" push
		-control "$ctl" -d "${DURATION}s" -warmup "${WARMUP}s" -size "$PUSH_SIZE")
	case $pusher in
	php) "${env[@]}" "${php[@]}" --batch=1 --transport=curl ;;
	php-batch) "${env[@]}" "${php[@]}" --batch="$PUSH_BATCH" --transport=curl ;;
	php-stream) "${env[@]}" "${php[@]}" --batch=1 --transport=stream ;;
	go) "${env[@]}" "${go[@]}" -batch 1 ;;
	go-batch) "${env[@]}" "${go[@]}" -batch "$PUSH_BATCH" ;;
	*) die "unknown pusher $pusher (PUSH_PUSHERS)" ;;
	esac >"$out" 2>&1
}

scenario_push() {
	push_setup
	[[ ${SIDE_OK[phpbridge]} == 1 ]] || {
		note "push skipped: phpbridge is not available"
		return 0
	}
	local round pusher out line cout ic tool c0 c1 delivered sent others others_top i
	for ((round = 1; round <= PUSH_ROUNDS; round++)); do
		start_side phpbridge || die "phpbridge did not start for push round $round"
		cout=$WORK/raw/push-count-$round.txt
		timeout 900 taskset -c "$CLIENT_CPU" "$WORK/phpbridge-load-push" count -url "$(push_ws_url)" \
			-n "$PUSH_CONNS" -src "$(push_src "$PUSH_CONNS")" -hold 600s >"$cout" 2>&1 &
		ic=$!
		PIDS+=("$ic")
		wait_line "$cout" '^READY' "$ic" 120 || {
			cat "$cout" >&2
			die "phpbridge-load count -n $PUSH_CONNS did not get ready"
		}
		tool=$(push_tool_pid "$ic")
		[[ $(pfield "$(grep '^READY' "$cout")" opened) == "$PUSH_CONNS" ]] || die "push: only $(grep '^READY' "$cout")"
		sleep 1 # the last open events
		for pusher in $PUSH_PUSHERS; do
			out=$WORK/raw/push-$pusher-$round.txt
			c0=$(push_count "$tool" "$cout")
			proc_snapshot "$WORK/snap0"
			push_run "$pusher" "$round" "$out" || true
			proc_snapshot "$WORK/snap1"
			read -r others others_top < <(others_pct "$WORK/snap0" "$WORK/snap1" "$((DURATION + WARMUP))")
			line=$(grep -E '^PUSH(PHP)? ' "$out" || true)
			if [[ -z $line ]]; then
				note "push $pusher round $round gave no result: $(tail -n 1 "$out" | cut -c1-300)"
				continue
			fi
			grep -q 'call failed' "$out" && note "push $pusher round $round: $(grep -c 'call failed' "$out") control calls failed, first: $(grep -m1 'call failed' "$out" | cut -c1-300)"
			sent=$(pfield "$line" total_sent)
			# Deliveries trail the last call by a little: wait (5 s at most)
			# until the clients have counted everything the bridge sent.
			for ((i = 0; i < 25; i++)); do
				c1=$(push_count "$tool" "$cout")
				delivered=$((c1 - c0))
				((delivered >= sent)) && break
				sleep 0.2
			done
			push_record "$PUSH_TSV" "$pusher" "$round" "$(pfield "$line" rate)" "$(pfield "$line" call_rate)" \
				"$(pfield "$line" p50_ms)" "$(pfield "$line" p99_ms)" "$(pfield "$line" errors)" \
				"$(pfield "$line" total_pushes)" "$sent" "$delivered" "$others" "$others_top" "$(pfield "$line" max_ms)"
			log "push round $round/$PUSH_ROUNDS $pusher: $(pfield "$line" rate) pushes/s, $(pfield "$line" call_rate) calls/s, p50 $(pfield "$line" p50_ms) ms, p99 $(pfield "$line" p99_ms) ms; sent $sent, clients got $delivered; others' CPU $others%"
			[[ $(pfield "$line" errors) == 0 ]] || note "push $pusher round $round: $(pfield "$line" errors) failed calls (see raw/push-$pusher-$round.txt)"
			[[ $delivered == "$sent" ]] || note "push $pusher round $round: the bridge reported $sent sent, the clients counted $delivered"
			[[ $sent == "$(pfield "$line" total_pushes)" ]] || note "push $pusher round $round: $(pfield "$line" total_pushes) pushes, only $sent sent"
			((others <= OTHERS_MAX)) || note "push $pusher round $round was disturbed: other processes used $others% of a CPU meanwhile ($others_top)"
		done
		stop_pid "$ic"
		grep -q "^DONE opened=$PUSH_CONNS alive=$PUSH_CONNS " "$cout" ||
			note "push round $round: a client connection closed during the round ($(grep '^DONE' "$cout" || echo 'no DONE line'))"
		stop_side phpbridge
	done
}

push_ws_url() { echo "ws://127.0.0.1:${SIDE_PORT[phpbridge]}/ws"; }

scenario_fanout() {
	push_setup
	[[ ${SIDE_OK[phpbridge]} == 1 ]] || {
		note "fanout skipped: phpbridge is not available"
		return 0
	}
	local round out line ft others others_top t0 t1
	for ((round = 1; round <= FANOUT_ROUNDS; round++)); do
		start_side phpbridge || die "phpbridge did not start for fanout round $round"
		out=$WORK/raw/fanout-$round.txt
		PHPBRIDGE_CONTROL_TOKEN=$PUSH_TOKEN timeout 900 taskset -c "$CLIENT_CPU" "$WORK/phpbridge-load-push" fanout \
			-url "$(push_ws_url)" -control "unix:$WORK/control.sock" -pid "${SIDE_PID[phpbridge]}" \
			-n "$FANOUT_N" -k "$FANOUT_K" -warmup-k "$FANOUT_WARMUP_K" -interval "$FANOUT_INTERVAL" \
			-size "$FANOUT_SIZE" -src "$(push_src "$FANOUT_N")" >"$out" 2>&1 &
		ft=$!
		PIDS+=("$ft")
		wait_line "$out" '^READY' "$ft" 300 || {
			cat "$out" >&2
			die "phpbridge-load fanout -n $FANOUT_N did not get ready"
		}
		proc_snapshot "$WORK/snap0"
		t0=$(date +%s.%N)
		wait "$ft" || true
		forget_pid "$ft"
		t1=$(date +%s.%N)
		proc_snapshot "$WORK/snap1"
		read -r others others_top < <(others_pct "$WORK/snap0" "$WORK/snap1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')")
		stop_side phpbridge
		line=$(grep '^FANOUT' "$out" || true)
		[[ -n $line ]] || {
			cat "$out" >&2
			die "phpbridge-load fanout gave no result"
		}
		local key vals=()
		for key in n k expected received lost last_p50_ms last_max_ms p50_ms p99_ms rate cpu_s cpu_pct cpu_ticks_s window_s run_s run_cpu_s call_p50_ms cpu_sys_ticks_s client_cpu_pct; do
			vals+=("$(pfield "$line" "$key")")
		done
		push_record "$FANOUT_TSV" "$round" "${vals[@]}" "$others" "$others_top"
		log "fanout round $round/$FANOUT_ROUNDS: $line; others' CPU $others%"
		[[ $(pfield "$line" lost) == 0 ]] || note "fanout round $round: $(pfield "$line" lost) of $(pfield "$line" expected) messages never arrived (BCAST lines in raw/fanout-$round.txt)"
		[[ $(pfield "$line" dup) == 0 && $(pfield "$line" foreign) == 0 ]] || note "fanout round $round: $(pfield "$line" dup) duplicates, $(pfield "$line" foreign) unexpected messages"
		((others <= OTHERS_MAX)) || note "fanout round $round was disturbed: other processes used $others% of a CPU meanwhile ($others_top)"
	done
}

# pmed TSV KEY COLUMN: median of COLUMN over the rows whose first column is KEY.
pmed() { awk -F'\t' -v k="$2" -v c="$3" '$1 == k {print $c}' "$1" | median; }

push_report() {
	[[ -n $PUSH_TSV ]] || return 0
	local p label php
	echo
	echo "## Push and fan-out"
	echo
	if [[ -s $PUSH_TSV ]]; then
		echo "Pushes through the control API to $PUSH_CONNS idle WebSocket clients, ${PUSH_SIZE}-byte messages, one pusher at a time in a closed loop, median of $PUSH_ROUNDS round(s) of ${DURATION}s (latency per control call):"
		echo
		echo "| pusher | pushes/s | calls/s | p50 per call (ms) | p99 per call (ms) | worst call (ms) | failed calls | pushes sent | received by clients |"
		echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
		for p in $PUSH_PUSHERS; do
			case $p in
			php) label="PHP SDK \`\$server->push()\`, curl keep-alive" ;;
			php-batch) label="PHP SDK \`\$server->batch()\` of $PUSH_BATCH pushes, curl" ;;
			php-stream) label="PHP SDK \`\$server->push()\`, stream transport (no ext-curl)" ;;
			go) label="Go, raw bare push action" ;;
			go-batch) label="Go, raw /v1/actions batch of $PUSH_BATCH pushes" ;;
			esac
			[[ -n $(pmed "$PUSH_TSV" "$p" 3) ]] || continue
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$(pmed "$PUSH_TSV" "$p" 3)" "$(pmed "$PUSH_TSV" "$p" 4)" \
				"$(pmed "$PUSH_TSV" "$p" 5)" "$(pmed "$PUSH_TSV" "$p" 6)" \
				"$(awk -F'\t' -v k="$p" '$1 == k && $13 + 0 > m {m = $13 + 0} END {print m + 0}' "$PUSH_TSV")" \
				"$(awk -F'\t' -v k="$p" '$1 == k {s += $7} END {print s + 0}' "$PUSH_TSV")" \
				"$(awk -F'\t' -v k="$p" '$1 == k {s += $9} END {print s + 0}' "$PUSH_TSV")" \
				"$(awk -F'\t' -v k="$p" '$1 == k {s += $10} END {print s + 0}' "$PUSH_TSV")"
		done
		echo
		php=$(pmed "$PUSH_TSV" php 3)
		echo "Ratios: PHP single / Go single $(ratio "$php" "$(pmed "$PUSH_TSV" go 3)"); PHP batch / Go batch $(ratio "$(pmed "$PUSH_TSV" php-batch 3)" "$(pmed "$PUSH_TSV" go-batch 3)"); PHP batch / PHP single $(ratio "$(pmed "$PUSH_TSV" php-batch 3)" "$php")."
		echo "\"worst call\" is the slowest over every round; \"failed calls\" (errors or not every push sent) and \"pushes sent\" and \"received\" are totals over every round including warm-ups: what the bridge answered as sent, and what the clients counted."
		echo
	fi
	if [[ -s $FANOUT_TSV ]]; then
		echo "Broadcast fan-out (one control call, \`broadcast\`, ${FANOUT_SIZE}-byte message), $FANOUT_K broadcasts $FANOUT_INTERVAL apart after $FANOUT_WARMUP_K unrecorded; times from just before the control call to each client's read:"
		echo
		echo "| round | clients | broadcasts | expected | received | lost | last client p50 (ms) | last client max (ms) | per-client p50 (ms) | per-client p99 (ms) | delivered/s | phpbridge CPU-s (schedstat) | % of a core while delivering | CPU-s utime+stime (system) | load tool's CPU % | call p50 (ms) | others' CPU % |"
		echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
		awk -F'\t' '{printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 " (" $19 " system)", $20, $18, $21}' "$FANOUT_TSV"
		echo
		echo "phpbridge's CPU is over the delivery windows (control call to last client) of the measured broadcasts; over the whole run, gaps included: $(awk -F'\t' '{printf "%s%s CPU-s in %s s", (NR > 1 ? "; " : ""), $17, $16}' "$FANOUT_TSV")."
		echo
	fi
	echo "Settings: PUSH_CONNS=$PUSH_CONNS PUSH_ROUNDS=$PUSH_ROUNDS PUSH_SIZE=$PUSH_SIZE PUSH_BATCH=$PUSH_BATCH FANOUT_N=$FANOUT_N FANOUT_K=$FANOUT_K FANOUT_INTERVAL=$FANOUT_INTERVAL FANOUT_SIZE=$FANOUT_SIZE; phpbridge and php-fpm on CPU $SERVER_CPU, pushers and WebSocket clients on CPU $CLIENT_CPU; $(php -r 'echo "PHP ", PHP_VERSION, " CLI", extension_loaded("curl") ? ", libcurl " . curl_version()["version"] : ", no ext-curl", ini_get("opcache.enable_cli") ? ", opcache on" : ", opcache off";')."
	echo
	echo "<details><summary>every push and fan-out run</summary>"
	echo
	echo '```'
	cat "$PUSH_TSV" "$FANOUT_TSV"
	echo '```'
	echo
	echo "</details>"
}

# The report gets this section after the others.
eval "$(declare -f report | sed '1s/^report /__push_report_prev /')"
report() {
	__push_report_prev
	push_report
}
