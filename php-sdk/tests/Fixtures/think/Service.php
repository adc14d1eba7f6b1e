<?php

declare(strict_types=1);

namespace think;

/** Service is ThinkPHP's base of service providers: it holds the app. */
abstract class Service
{
    public function __construct(protected App $app)
    {
    }
}
