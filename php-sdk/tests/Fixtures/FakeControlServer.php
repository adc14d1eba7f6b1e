<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Fixtures;

/**
 * FakeControlServer runs a fake control API in a child process: PHP's
 * built-in server with control_router.php (TCP), or fake_control.php on a
 * unix socket or TCP port (raw HTTP, framing under the test's control).
 */
final class FakeControlServer
{
    /** @var resource */
    private $process;

    private function __construct(
        public readonly string $address,
        private readonly string $dir,
        $process,
    ) {
        $this->process = $process;
    }

    /** builtin starts `php -S 127.0.0.1:<free port> control_router.php`. */
    public static function builtin(): self
    {
        $dir = self::tempDir();
        $port = self::freePort();
        $process = self::spawn(
            [PHP_BINARY, '-S', "127.0.0.1:$port", __DIR__ . '/control_router.php'],
            $dir,
            ['FAKE_DIR' => $dir]
        );
        $server = new self("127.0.0.1:$port", $dir, $process);
        $server->waitUntilConnectable("tcp://127.0.0.1:$port");
        return $server;
    }

    /** raw starts fake_control.php on a unix socket ("unix") or a TCP port ("tcp"). */
    public static function raw(string $network): self
    {
        $dir = self::tempDir();
        $listen = $network === 'unix' ? "unix:$dir/control.sock" : 'tcp:127.0.0.1:0';
        $process = self::spawn([PHP_BINARY, __DIR__ . '/fake_control.php', $listen, $dir], $dir, []);
        $deadline = microtime(true) + 10;
        while (!is_file("$dir/address")) {
            if (microtime(true) > $deadline) {
                throw new \RuntimeException('fake control server did not start: ' . @file_get_contents("$dir/stderr"));
            }
            usleep(10_000);
        }
        $address = $network === 'unix' ? $listen : (string) file_get_contents("$dir/address");
        return new self($address, $dir, $process);
    }

    /**
     * mode sets how the next requests are answered: status, body (else
     * automatic results), framing (length|chunked|eof), delay_ms, hangup.
     *
     * @param array<string, mixed> $mode
     */
    public function mode(array $mode): void
    {
        file_put_contents("$this->dir/mode.json.tmp", json_encode($mode));
        rename("$this->dir/mode.json.tmp", "$this->dir/mode.json");
    }

    /** @return list<array<string, mixed>> the requests received so far */
    public function requests(): array
    {
        $lines = @file("$this->dir/requests.jsonl", FILE_IGNORE_NEW_LINES | FILE_SKIP_EMPTY_LINES) ?: [];
        return array_map(static fn (string $l): array => json_decode($l, true, 512, JSON_THROW_ON_ERROR), $lines);
    }

    public function stop(): void
    {
        $status = proc_get_status($this->process);
        if ($status['running']) {
            proc_terminate($this->process, 15);
        }
        proc_close($this->process);
        foreach (glob("$this->dir/*") ?: [] as $file) {
            @unlink($file);
        }
        @rmdir($this->dir);
    }

    /** freePort finds a TCP port nobody listens on (bound, then released). */
    public static function freePort(): int
    {
        $probe = stream_socket_server('tcp://127.0.0.1:0');
        if ($probe === false) {
            throw new \RuntimeException('cannot bind a probe socket');
        }
        $name = (string) stream_socket_get_name($probe, false);
        fclose($probe);
        return (int) substr($name, strrpos($name, ':') + 1);
    }

    public static function tempDir(): string
    {
        // Short: a unix socket path must fit in 108 bytes.
        $dir = sys_get_temp_dir() . '/pbt' . bin2hex(random_bytes(4));
        mkdir($dir, 0700);
        return $dir;
    }

    /**
     * @param list<string> $command
     * @param array<string, string> $env
     * @return resource
     */
    private static function spawn(array $command, string $dir, array $env)
    {
        $process = proc_open(
            $command,
            [0 => ['file', '/dev/null', 'r'], 1 => ['file', "$dir/stdout", 'w'], 2 => ['file', "$dir/stderr", 'w']],
            $pipes,
            $dir,
            $env + ['PATH' => (string) getenv('PATH')],
        );
        if (!is_resource($process)) {
            throw new \RuntimeException('cannot start ' . implode(' ', $command));
        }
        return $process;
    }

    private function waitUntilConnectable(string $target): void
    {
        $deadline = microtime(true) + 10;
        while (true) {
            $socket = @stream_socket_client($target, $errno, $error, 0.2);
            if ($socket !== false) {
                fclose($socket);
                return;
            }
            if (microtime(true) > $deadline) {
                throw new \RuntimeException("fake control server at $target did not start: "
                    . @file_get_contents("$this->dir/stderr"));
            }
            usleep(20_000);
        }
    }
}
