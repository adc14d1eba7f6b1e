<?php

declare(strict_types=1);

namespace PhpBridge\Control;

use PhpBridge\Exception\AuthenticationException;
use PhpBridge\Exception\InvalidPayloadException;
use PhpBridge\Exception\UnexpectedResponseException;
use PhpBridge\Transport\Address;
use PhpBridge\Transport\Transport;

/**
 * ControlClient runs lists of actions on the control API
 * (POST /v1/actions, docs/control-api.md) and maps the HTTP answer: the
 * per-action results on 200, exceptions that say what to fix otherwise.
 * It always uses the list form, so every answer has the same shape.
 *
 * @internal
 */
final class ControlClient
{
    public const PATH = '/v1/actions';

    public function __construct(
        private readonly Address $address,
        private readonly string $token,
        private readonly Transport $transport,
    ) {
    }

    /**
     * send runs $actions in order in one request and returns one result
     * per action ({"ok": true, ...} or {"ok": false, "error": ...}).
     *
     * @param list<Action> $actions
     * @return list<array<string, mixed>>
     */
    public function send(array $actions): array
    {
        if ($actions === []) {
            return [];
        }
        $body = json_encode(
            ['actions' => array_map(static fn (Action $a): array => $a->toArray(), $actions)],
            JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR,
        );
        $answer = $this->transport->post(self::PATH, [
            'Authorization' => 'Bearer ' . $this->token,
            'Content-Type' => 'application/json',
            'Accept' => 'application/json',
        ], $body);
        $address = (string) $this->address;
        $decoded = json_decode($answer->body, true);
        $error = is_array($decoded) && is_string($decoded['error'] ?? null) ? $decoded['error'] : '';
        if ($answer->status === 401 || $answer->status === 403) {
            throw AuthenticationException::rejected($address, $error);
        }
        if ($answer->status === 400) {
            throw new InvalidPayloadException(sprintf(
                'phpbridge refused the control request as malformed: %s',
                $error !== '' ? $error : substr($answer->body, 0, 200)
            ));
        }
        if ($answer->status !== 200) {
            throw UnexpectedResponseException::fromAnswer($address, $answer->status, $answer->body, 'not a 200');
        }
        if (!is_array($decoded) || !is_array($decoded['results'] ?? null)) {
            throw UnexpectedResponseException::fromAnswer(
                $address,
                $answer->status,
                $answer->body,
                'the body is not {"ok": true, "results": [...]}'
            );
        }
        $results = array_values($decoded['results']);
        if (count($results) !== count($actions)) {
            throw UnexpectedResponseException::fromAnswer(
                $address,
                $answer->status,
                $answer->body,
                sprintf('%d results for %d actions', count($results), count($actions))
            );
        }
        foreach ($results as $i => $result) {
            if (!is_array($result)) {
                $results[$i] = ['ok' => false, 'error' => 'malformed result'];
            }
        }
        return $results;
    }
}
