<?php

use App\Http\Controllers\DemoController;
use Illuminate\Support\Facades\Route;

/*
|--------------------------------------------------------------------------
| Web Routes
|--------------------------------------------------------------------------
|
| Loaded by the RouteServiceProvider within the "web" middleware group:
| encrypted cookies, file sessions and CSRF protection.
|
*/

Route::get('/', [DemoController::class, 'home']);
Route::get('/users/{id}', [DemoController::class, 'user'])->name('user');
Route::get('/files/{path}', [DemoController::class, 'file'])->where('path', '.*');
Route::get('/form', [DemoController::class, 'form']);
Route::post('/form', [DemoController::class, 'submit']);
Route::get('/session/put', [DemoController::class, 'sessionPut']);
Route::get('/session/get', [DemoController::class, 'sessionGet']);
Route::get('/redirect', [DemoController::class, 'redirect']);
Route::get('/target', [DemoController::class, 'target']);
Route::get('/json', [DemoController::class, 'json']);
Route::get('/headers', [DemoController::class, 'headers']);
Route::post('/upload', [DemoController::class, 'upload']);
Route::get('/stream', [DemoController::class, 'stream']);
Route::get('/big', [DemoController::class, 'big']);
Route::match(['GET', 'POST'], '/debug/cgi', [DemoController::class, 'cgi']);
