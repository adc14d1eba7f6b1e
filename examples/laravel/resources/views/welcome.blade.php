@extends('layouts.app')

@section('title', 'Welcome')

@section('content')
    <h1>Laravel {{ app()->version() }} behind phpbridge</h1>
    <p>This page is a Blade view rendered by PHP-FPM; the stylesheet is a static file.</p>
    <p>Path: <code>/{{ $path === '/' ? '' : $path }}</code></p>
    <ul>
        <li><a href="{{ url('/users/5?tab=posts') }}">/users/5?tab=posts</a> — route parameter and query</li>
        <li><a href="{{ url('/index.php/users/5') }}">/index.php/users/5</a> — PATH_INFO style</li>
        <li><a href="{{ url('/form') }}">/form</a> — CSRF-protected form</li>
        <li><a href="{{ url('/session/put?v=hello') }}">/session/put?v=hello</a> then <a href="{{ url('/session/get') }}">/session/get</a></li>
        <li><a href="{{ url('/redirect') }}">/redirect</a>, <a href="{{ url('/json') }}">/json</a>, <a href="{{ url('/stream') }}">/stream</a></li>
    </ul>
@endsection
