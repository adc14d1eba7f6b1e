<?php

declare(strict_types=1);

namespace PhpBridge\Internal;

use PhpBridge\Control\Action;
use PhpBridge\Control\ControlClient;
use PhpBridge\Exception\ConnectionException;

/**
 * Router decides where a Server's action goes: onto the running event's
 * response (inside a handler, for the same bridge), into a batch, or to the
 * control API at once. Queries always go to the control API, preceded by
 * the queued writes they must not overtake.
 *
 * @internal
 */
final class Router
{
    /** @var list<Action>|null the writes of a running batch */
    private ?array $batch = null;

    /** @var list<array<string, mixed>> the results of writes a query sent ahead during a batch */
    private array $batchResults = [];

    public function __construct(
        private readonly string $address,
        private readonly ControlClient $control,
    ) {
    }

    /**
     * event is the running handler's event when it came from the bridge
     * this router talks to, else null.
     */
    public function event(): ?CurrentEvent
    {
        $event = CurrentEvent::active();
        if ($event === null || ($event->address !== null && $event->address !== $this->address)) {
            return null;
        }
        return $event;
    }

    /**
     * write queues an action (null) or runs it and returns its result.
     *
     * @return array<string, mixed>|null
     */
    public function write(Action $action): ?array
    {
        $event = $this->event();
        if ($event !== null) {
            $event->record($action);
            return null;
        }
        if ($this->batch !== null) {
            $this->batch[] = $action;
            return null;
        }
        return $this->control->send([$action])[0];
    }

    /**
     * query runs an action whose answer is needed now, after the queued
     * writes it must see, in the same request.
     *
     * @return array<string, mixed>
     */
    public function query(Action $action): array
    {
        $pending = [];
        $event = $this->event();
        if ($event !== null) {
            $pending = $event->flushable();
        } elseif ($this->batch !== null) {
            $pending = $this->batch;
            $this->batch = [];
        }
        try {
            $results = $this->control->send([...$pending, $action]);
        } catch (ConnectionException $e) {
            $this->unsent($pending, $event, $e);
            throw $e;
        }
        $answer = array_pop($results);
        if ($this->batch !== null) {
            $this->batchResults = array_merge($this->batchResults, $results);
        }
        return $answer;
    }

    /**
     * unsent handles the writes that rode with a query that failed. When the
     * bridge cannot have seen them they are queued again, so a handler that
     * catches the failure and carries on loses none; after a timeout the
     * bridge may have carried them out, so they are not sent twice, and a
     * batch gets a failed result for each to keep results in order.
     *
     * @param list<Action> $pending
     */
    private function unsent(array $pending, ?CurrentEvent $event, ConnectionException $e): void
    {
        if ($pending === []) {
            return;
        }
        if (!$e->timedOut()) {
            if ($event !== null) {
                $event->requeue($pending);
            } elseif ($this->batch !== null) {
                $this->batch = [...$pending, ...$this->batch];
            }
            return;
        }
        if ($this->batch !== null) {
            foreach ($pending as $_) {
                $this->batchResults[] = ['ok' => false, 'error' => 'unknown: sent with a query that timed out'];
            }
        }
    }

    /**
     * batch runs $fn with writes collected, then sends them in one request
     * and returns every write's result in order. Nested, or inside a
     * handler (where writes already ride on the response), it just runs $fn.
     *
     * @param callable(): void $fn
     * @return list<array<string, mixed>>
     */
    public function batch(callable $fn): array
    {
        if ($this->batch !== null || $this->event() !== null) {
            $fn();
            return [];
        }
        $this->batch = [];
        $this->batchResults = [];
        try {
            $fn();
            $actions = $this->batch;
            $this->batch = null;
            return array_merge($this->batchResults, $this->control->send($actions));
        } finally {
            $this->batch = null;
            $this->batchResults = [];
        }
    }

    /**
     * execute sends actions straight to the control API.
     *
     * @param list<Action> $actions
     * @return list<array<string, mixed>>
     */
    public function execute(array $actions): array
    {
        return $this->control->send($actions);
    }
}
