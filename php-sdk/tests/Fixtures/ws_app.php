<?php

/*
 * ws_app.php is a complete handler script as users write it (the handler
 * class lives in ChatHandler.php): load the SDK, hand the event over.
 */

declare(strict_types=1);

require dirname(__DIR__) . '/bootstrap.php';

PhpBridge\Dispatcher::handle(new PhpBridge\Tests\Fixtures\ChatHandler());
