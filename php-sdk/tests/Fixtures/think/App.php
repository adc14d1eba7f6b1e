<?php

declare(strict_types=1);

namespace think;

/** App is ThinkPHP's container, reduced to bind() and make() with shared instances. */
final class App
{
    /** @var array<string, mixed> */
    private array $bind = [];

    /** @var array<string, object> */
    private array $instances = [];

    public function __construct(public Config $config)
    {
    }

    public function bind(string $abstract, mixed $concrete): void
    {
        $this->bind[$abstract] = $concrete;
    }

    public function make(string $abstract): object
    {
        if (isset($this->instances[$abstract])) {
            return $this->instances[$abstract];
        }
        $concrete = $this->bind[$abstract];
        $object = $concrete instanceof \Closure ? $concrete() : $this->make($concrete);
        return $this->instances[$abstract] = $object;
    }
}
