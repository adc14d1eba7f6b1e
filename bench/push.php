<?php

/*
 * bench/push.php: pushes from PHP through the SDK for bench/push.sh.
 *
 *   PHPBRIDGE_CONTROL=unix:/path.sock PHPBRIDGE_TOKEN=... \
 *     php bench/push.php --batch=1 --seconds=10 --warmup=2 [--transport=curl|stream] [--size=32]
 *
 * Asks the bridge for the open connections (getClientList), then for
 * --warmup + --seconds pushes to them in turn in a closed loop: with
 * --batch=1 one $server->push($fd, $data) per control call, with --batch=B
 * B pushes inside one $server->batch(). Prints one line:
 *
 *   PUSHPHP batch=B transport=T calls=C pushes=P seconds=S rate=R call_rate=…
 *           p50_ms=… p99_ms=… max_ms=… errors=E total_pushes=… total_sent=…
 *
 * rate is pushes/s over the measured seconds, latency is per control call
 * (hrtime around push() or batch()); total_pushes/total_sent include the
 * warm-up, for the receivers' count. errors counts calls that failed or
 * did not send every push; a failed call (e.g. the SDK's 3 s timeout) is
 * reported on stderr and timed like the others.
 */

declare(strict_types=1);

require __DIR__ . '/../php-sdk/autoload.php';

use PhpBridge\Exception\PhpBridgeException;
use PhpBridge\Server;
use PhpBridge\Transport\Address;
use PhpBridge\Transport\CurlTransport;
use PhpBridge\Transport\StreamTransport;

$opt = getopt('', ['batch:', 'seconds:', 'warmup:', 'transport:', 'size:']);
$batch = max(1, (int) ($opt['batch'] ?? 1));
$seconds = (float) ($opt['seconds'] ?? 10);
$warmup = (float) ($opt['warmup'] ?? 2);
$transportName = (string) ($opt['transport'] ?? 'curl');
$size = max(0, (int) ($opt['size'] ?? 32));
if ($seconds <= 0 || $seconds + $warmup > 600) {
    fwrite(STDERR, "--seconds must be > 0 and --seconds + --warmup <= 600\n");
    exit(2);
}

$addressText = Server::setting($_SERVER, 'PHPBRIDGE_CONTROL');
$token = Server::setting($_SERVER, 'PHPBRIDGE_TOKEN');
if ($addressText === null || $token === null) {
    fwrite(STDERR, "set PHPBRIDGE_CONTROL and PHPBRIDGE_TOKEN\n");
    exit(2);
}
$address = Address::parse($addressText);
$transport = match ($transportName) {
    'curl' => new CurlTransport($address, Server::DEFAULT_TIMEOUT),
    'stream' => new StreamTransport($address, Server::DEFAULT_TIMEOUT),
    default => throw new InvalidArgumentException("--transport must be curl or stream, got $transportName"),
};
$server = new Server($addressText, $token, Server::DEFAULT_TIMEOUT, $transport);

$fds = $server->getClientList();
$nfds = count($fds);
if ($nfds === 0) {
    fwrite(STDERR, "no open connections to push to\n");
    exit(1);
}
$data = str_repeat('abcdefghijklmnopqrstuvwxyz', intdiv($size, 26) + 1);
$data = substr($data, 0, $size);

$start = hrtime(true);
$measureFrom = $start + (int) ($warmup * 1e9);
$end = $measureFrom + (int) ($seconds * 1e9);
$lat = [];
$totalPushes = 0;
$totalSent = 0;
$errors = 0;
$failures = 0;
$next = 0;
while (true) {
    $t0 = hrtime(true);
    if ($t0 >= $end) {
        break;
    }
    // A failed call (timeout, bridge unreachable) is counted and timed,
    // and the loop goes on: it is part of the measurement.
    try {
        if ($batch === 1) {
            $fd = $fds[$next];
            $next = ($next + 1) % $nfds;
            $sent = $server->push($fd, $data) ? 1 : 0;
        } else {
            $results = $server->batch(static function (Server $s) use ($fds, $nfds, $batch, &$next, $data): void {
                for ($m = 0; $m < $batch; $m++) {
                    $s->push($fds[$next], $data);
                    $next = ($next + 1) % $nfds;
                }
            });
            $sent = 0;
            foreach ($results as $r) {
                $sent += (int) ($r['sent'] ?? 0);
            }
        }
    } catch (PhpBridgeException $e) {
        $sent = 0;
        fprintf(STDERR, "call failed after %.3f s: %s\n", (hrtime(true) - $t0) / 1e9, $e->getMessage());
        if (++$failures > 20) {
            fwrite(STDERR, "more than 20 failed calls; giving up\n");
            break;
        }
    }
    $t1 = hrtime(true);
    $totalPushes += $batch;
    $totalSent += $sent;
    if ($sent !== $batch) {
        $errors++;
    }
    if ($t0 >= $measureFrom && $t1 <= $end) {
        $lat[] = $t1 - $t0;
    }
}

sort($lat);
$calls = count($lat);
$pct = static fn (float $q): float => $calls === 0 ? 0.0 : $lat[(int) ($q * ($calls - 1))] / 1e6;
printf(
    "PUSHPHP batch=%d transport=%s fds=%d calls=%d pushes=%d seconds=%.1f rate=%.0f call_rate=%.0f"
    . " p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d total_pushes=%d total_sent=%d php=%s\n",
    $batch,
    $transportName,
    $nfds,
    $calls,
    $calls * $batch,
    $seconds,
    $calls * $batch / $seconds,
    $calls / $seconds,
    $pct(0.50),
    $pct(0.99),
    $calls === 0 ? 0.0 : $lat[$calls - 1] / 1e6,
    $errors,
    $totalPushes,
    $totalSent,
    PHP_VERSION,
);
exit($errors === 0 ? 0 : 1);
