<?php

namespace App\Http\Middleware;

use Illuminate\Foundation\Http\Middleware\VerifyCsrfToken as Middleware;

class VerifyCsrfToken extends Middleware
{
    /**
     * The URIs that should be excluded from CSRF verification.
     *
     * /upload and the /debug/cgi diagnostic are excluded so the
     * differential test can post to them without a session first; POST
     * /form is protected.
     *
     * @var array<int, string>
     */
    protected $except = [
        'upload',
        'debug/*',
    ];
}
