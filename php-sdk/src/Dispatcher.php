<?php

declare(strict_types=1);

namespace PhpBridge;

use PhpBridge\Control\Action;
use PhpBridge\Exception\PhpBridgeException;
use PhpBridge\Exception\Rejected;
use PhpBridge\Internal\CurrentEvent;
use PhpBridge\Internal\Envelope;
use PhpBridge\LaravelS\HandlerAdapter;
use PhpBridge\LaravelS\WebSocketHandlerInterface as LaravelSHandler;

/**
 * Dispatcher is the whole WebSocket handler script (--ws-handler):
 *
 *     Dispatcher::handle(new ChatHandler());
 *
 * It reads the event phpbridge sent (WS_EVENT, WS_FD... and the payload),
 * builds Request or Frame, calls the handler, and answers with what the
 * handler did to its own connection and the others: a plain body for a
 * lone reply, else the reply-and-actions envelope (docs/control-api.md).
 *
 * Output the handler prints (echo, var_dump) is not sent to the client,
 * whose protocol it would corrupt; it goes to the error log, as Swoole's
 * echo went to its console. An uncaught exception is logged and answered
 * with 500: an open is refused, and the event's queued replies and actions
 * are dropped.
 */
final class Dispatcher
{
    /** @var (callable(\Throwable): void)|null */
    private $onError;

    /**
     * @param Environment $env the event (Environment::fromGlobals() under PHP-FPM)
     * @param Server|null $server the Server handed to the handler; default built from the event's params
     * @param (callable(\Throwable): void)|null $onError reports handler exceptions; default error_log()
     */
    public function __construct(
        private readonly Environment $env,
        private ?Server $server = null,
        ?callable $onError = null,
    ) {
        $this->onError = $onError;
    }

    /**
     * handle runs the current PHP-FPM request's event through $handler and
     * emits the answer. A LaravelS handler works as is.
     *
     * @param (callable(\Throwable): void)|null $onError reports handler exceptions
     *        (e.g. Laravel's report()); default error_log()
     */
    public static function handle(WebSocketHandler|LaravelSHandler $handler, ?callable $onError = null): void
    {
        $done = false;
        $level = ob_get_level();
        // A handler that ends the request itself (exit, die, dd()) never
        // returns here, and PHP would then send whatever it printed: an
        // open meant to be refused would be accepted with that text as the
        // first message. Shutdown functions run before PHP flushes output,
        // so the answer becomes a 500 instead (an open is refused, a message
        // sends nothing) and the handler's writes are dropped.
        register_shutdown_function(static function () use (&$done, $level): void {
            if ($done) {
                return;
            }
            while (ob_get_level() > $level) {
                ob_end_clean();
            }
            if (!headers_sent()) {
                header_remove();
                http_response_code(500);
            }
            error_log(sprintf(
                'phpbridge: the WebSocket handler ended the request (exit, die, dd() or a fatal error) on %s of fd %s'
                . ' instead of returning; answered 500, nothing it printed or queued was sent',
                (string) ($_SERVER['WS_EVENT'] ?? '?'),
                (string) ($_SERVER['WS_FD'] ?? '?'),
            ));
        });
        (new self(Environment::fromGlobals(), null, $onError))->dispatch($handler)->emit();
        $done = true;
    }

    /** dispatch runs the event through $handler and returns the answer unsent. */
    public function dispatch(WebSocketHandler|LaravelSHandler $handler): Response
    {
        if ($handler instanceof LaravelSHandler) {
            $handler = new HandlerAdapter($handler);
        }
        try {
            $event = Event::fromEnvironment($this->env);
        } catch (PhpBridgeException $e) {
            return new Response(400, ['Content-Type' => 'text/plain; charset=utf-8'], $e->getMessage() . "\n");
        }
        try {
            // The same settings as Server::fromEnvironment() anywhere else in
            // the request (PHPBRIDGE_TIMEOUT, PHPBRIDGE_CONTROL_TOKEN).
            $server = $this->server ??= Server::fromEnvironment($this->env->server);
        } catch (PhpBridgeException $e) {
            $this->report($e);
            return new Response(500);
        }
        $request = $event->type === Event::OPEN ? Request::fromEnvironment($this->env, $event->fd) : null;
        $current = new CurrentEvent($event, new Envelope($event->fd), $server->address(), $request);

        $level = ob_get_level();
        ob_start();
        $rejection = null;
        try {
            CurrentEvent::run($current, function () use ($handler, $server, $event, $request): void {
                $this->call($handler, $server, $event, $request);
            });
            $rejection = $request?->rejection();
        } catch (Rejected $e) {
            $rejection = $e;
        } catch (\Throwable $e) {
            $this->report($e);
            return new Response(500);
        } finally {
            $this->logOutput($level);
        }

        if ($rejection !== null) {
            return $this->rejected($current, $rejection);
        }
        $headers = [];
        if ($request?->protocol() !== null) {
            $headers['Sec-WebSocket-Protocol'] = (string) $request->protocol();
        }
        try {
            return $current->envelope->render($headers);
        } catch (\Throwable $e) {
            $this->report($e);
            return new Response(500);
        }
    }

    private function call(WebSocketHandler $handler, Server $server, Event $event, ?Request $request): void
    {
        switch ($event->type) {
            case Event::OPEN:
                $handler->onOpen($server, $request ?? Request::fromEnvironment($this->env, $event->fd));
                break;
            case Event::MESSAGE:
                $handler->onMessage($server, new Frame($event->fd, $this->env->input(), $event->opcode));
                break;
            default:
                $handler->onClose($server, $event->fd, $event->closeCode, $event->closeReason);
        }
    }

    /**
     * rejected answers a refusal. In onOpen the client gets the status and
     * body; writes aimed at other connections still go out (on the control
     * API, since a refused open's response carries no actions). Elsewhere
     * there is no handshake to refuse: the connection is closed with 1008.
     */
    private function rejected(CurrentEvent $current, Rejected $rejection): Response
    {
        $fd = $current->fd();
        if ($current->event->type !== Event::OPEN) {
            if ($current->event->type === Event::MESSAGE) {
                $current->envelope->add(new Action('disconnect', ['fd' => $fd], null, Frame::TEXT, [
                    'code' => 1008,
                    'reason' => Control\Check::closeReason(
                        preg_match('//u', $rejection->body()) === 1 ? $rejection->body() : 'policy violation'
                    ),
                ]));
            }
            return $current->envelope->render();
        }
        $others = [];
        foreach ($current->envelope->take() as $action) {
            $kept = $action->withoutFd($fd); // a push to [this, admin] still reaches the admin
            if ($kept !== null) {
                $others[] = $kept;
            }
        }
        if ($others !== [] && $this->server !== null) {
            try {
                $this->server->execute($others);
            } catch (\Throwable $e) {
                $this->report($e);
            }
        }
        return new Response($rejection->status(), $rejection->headers(), $rejection->body());
    }

    private function report(\Throwable $e): void
    {
        if ($this->onError !== null) {
            ($this->onError)($e);
            return;
        }
        error_log(sprintf(
            'phpbridge: the WebSocket handler failed on %s of fd %s: %s: %s in %s:%d' . "\n%s",
            $this->env->param('WS_EVENT') ?? '?',
            $this->env->param('WS_FD') ?? '?',
            get_class($e),
            $e->getMessage(),
            $e->getFile(),
            $e->getLine(),
            $e->getTraceAsString()
        ));
    }

    /** logOutput ends the buffers the handler wrote into and logs their content. */
    private function logOutput(int $level): void
    {
        $output = '';
        while (ob_get_level() > $level) {
            $output = (string) ob_get_clean() . $output;
        }
        $output = rtrim($output);
        if ($output !== '') {
            error_log(sprintf(
                'phpbridge: the WebSocket handler printed %d bytes on %s of fd %s; printed output is not sent'
                . ' to the client (use $server->push()): %s',
                strlen($output),
                $this->env->param('WS_EVENT') ?? '?',
                $this->env->param('WS_FD') ?? '?',
                strlen($output) > 500 ? substr($output, 0, 500) . '...' : $output
            ));
        }
    }
}
