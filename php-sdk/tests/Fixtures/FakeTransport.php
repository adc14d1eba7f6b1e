<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Fixtures;

use PhpBridge\Transport\HttpResponse;
use PhpBridge\Transport\Transport;

/**
 * FakeTransport records what the SDK would send to the control API and
 * answers from a script: by default {"ok": true} per action, or whatever
 * $results returns for an action, or a fixed HttpResponse.
 */
final class FakeTransport implements Transport
{
    /** @var list<array{path: string, headers: array<string, string>, body: string}> */
    public array $requests = [];

    /** @var (\Closure(array<string, mixed>): array<string, mixed>)|null answers one action */
    public ?\Closure $results = null;

    /** @var list<HttpResponse> fixed answers, used first */
    public array $responses = [];

    public function post(string $path, array $headers, string $body): HttpResponse
    {
        $this->requests[] = ['path' => $path, 'headers' => $headers, 'body' => $body];
        if ($this->responses !== []) {
            return array_shift($this->responses);
        }
        $decoded = json_decode($body, true, 512, JSON_THROW_ON_ERROR);
        $results = [];
        foreach ($decoded['actions'] as $action) {
            $results[] = $this->results !== null ? ($this->results)($action) : ['ok' => true];
        }
        return new HttpResponse(200, ['content-type' => 'application/json'], json_encode([
            'ok' => true,
            'results' => $results,
        ], JSON_THROW_ON_ERROR));
    }

    /**
     * actions are the actions of every request so far, one list per request.
     *
     * @return list<list<array<string, mixed>>>
     */
    public function actions(): array
    {
        return array_map(
            static fn (array $r): array => json_decode($r['body'], true, 512, JSON_THROW_ON_ERROR)['actions'],
            $this->requests
        );
    }
}
