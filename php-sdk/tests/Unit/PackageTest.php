<?php

declare(strict_types=1);

namespace PhpBridge\Tests\Unit;

use PHPUnit\Framework\TestCase;

/**
 * PackageTest checks composer.json (Composer is not installed here) and
 * that every source file follows the package conventions.
 */
final class PackageTest extends TestCase
{
    /** @return array<string, mixed> */
    private static function composer(): array
    {
        return json_decode(
            (string) file_get_contents(dirname(__DIR__, 2) . '/composer.json'),
            true,
            512,
            JSON_THROW_ON_ERROR
        );
    }

    public function testComposerJsonDescribesThePackage(): void
    {
        $composer = self::composer();

        self::assertSame('phpbridge/php-sdk', $composer['name']);
        self::assertSame(['php' => '>=8.1', 'ext-json' => '*'], $composer['require']);
        self::assertArrayHasKey('ext-curl', $composer['suggest']);
        self::assertSame(['PhpBridge\\' => 'src/'], $composer['autoload']['psr-4']);
    }

    public function testDiscoveryEntriesNameExistingClasses(): void
    {
        $composer = self::composer();
        $classes = array_merge(
            $composer['extra']['laravel']['providers'],
            array_values($composer['extra']['laravel']['aliases']),
            $composer['extra']['think']['services'],
        );
        foreach ($classes as $class) {
            $file = dirname(__DIR__, 2) . '/src/' . str_replace('\\', '/', substr($class, 10)) . '.php';
            self::assertFileExists($file, $class);
        }
        self::assertFileExists(dirname(__DIR__, 2) . '/' . $composer['extra']['think']['config']['phpbridge']);
    }

    public function testEverySourceFileIsStrictAndMatchesItsClass(): void
    {
        $root = dirname(__DIR__, 2) . '/src/';
        $files = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator($root));
        $count = 0;
        foreach ($files as $file) {
            if (!$file->isFile() || $file->getExtension() !== 'php') {
                continue;
            }
            $count++;
            $code = (string) file_get_contents($file->getPathname());
            self::assertStringContainsString('declare(strict_types=1);', $code, $file->getPathname());
            $relative = substr($file->getPathname(), strlen($root), -4);
            $sub = str_contains($relative, '/') ? '\\' . str_replace('/', '\\', dirname($relative)) : '';
            $namespace = 'PhpBridge' . $sub;
            self::assertStringContainsString("namespace $namespace;", $code, $file->getPathname());
            self::assertMatchesRegularExpression(
                '/^(final |abstract )?(class|interface) ' . preg_quote(basename($relative), '/') . '\b/m',
                $code,
                $file->getPathname()
            );
        }
        self::assertGreaterThan(20, $count);
    }
}
