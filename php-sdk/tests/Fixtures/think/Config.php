<?php

declare(strict_types=1);

namespace think;

/** Config is ThinkPHP's config store, reduced to get(). */
final class Config
{
    /** @param array<string, mixed> $values */
    public function __construct(private array $values)
    {
    }

    public function get(string $name, mixed $default = null): mixed
    {
        return $this->values[$name] ?? $default;
    }
}
