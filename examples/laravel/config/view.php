<?php

return [

    'paths' => [
        resource_path('views'),
    ],

    // Compiled Blade templates; storage/ must be writable by PHP-FPM.
    'compiled' => env(
        'VIEW_COMPILED_PATH',
        realpath(storage_path('framework/views'))
    ),

];
