<?php

namespace App\Http\Controllers;

use Illuminate\Http\Request;
use Symfony\Component\HttpFoundation\StreamedResponse;

/**
 * The pages of the phpbridge Laravel example. Each one exercises a part of
 * the HTTP path between the client and PHP-FPM that a front server (nginx or
 * phpbridge) can get wrong: routing of REQUEST_URI / PATH_INFO, cookies,
 * sessions, CSRF, redirects, uploads and streamed output.
 */
class DemoController extends Controller
{
    /** GET / — a Blade view. */
    public function home(Request $request)
    {
        return view('welcome', ['path' => $request->path()]);
    }

    /** GET /users/{id} — a route parameter, the query string and the URLs Laravel derives from the request. */
    public function user(Request $request, string $id)
    {
        return response()->json([
            'id' => $id,
            'tab' => $request->query('tab'),
            'query' => $request->query(),
            'path' => $request->path(),
            'base_url' => $request->getBaseUrl(),
            'url' => $request->url(),
            'full_url' => $request->fullUrl(),
            'route_url' => route('user', ['id' => $id]),
            'secure' => $request->secure(),
        ]);
    }

    /** GET /files/{path} — a catch-all parameter (where('path', '.*')), as image or download routes use. */
    public function file(Request $request, string $path)
    {
        return response()->json(['path' => $path, 'uri' => $request->getRequestUri()]);
    }

    /** GET /form — a form carrying the CSRF token (and the session cookie that backs it). */
    public function form()
    {
        return view('form');
    }

    /** POST /form — reached only with a valid CSRF token (VerifyCsrfToken answers 419 otherwise). */
    public function submit(Request $request)
    {
        $data = $request->validate(['name' => 'required|string|max:50']);
        $request->session()->put('last_name', $data['name']);

        return response('Thanks, '.$data['name']."!\n", 200)->header('Content-Type', 'text/plain; charset=UTF-8');
    }

    /** GET /session/put?v=x — stores v in the (file) session. */
    public function sessionPut(Request $request)
    {
        $request->session()->put('v', (string) $request->query('v', ''));

        return response("stored\n")->header('Content-Type', 'text/plain; charset=UTF-8');
    }

    /** GET /session/get — reads it back on a later request (same session cookie). */
    public function sessionGet(Request $request)
    {
        return response('v='.$request->session()->get('v', '(none)')."\n")
            ->header('Content-Type', 'text/plain; charset=UTF-8');
    }

    /** GET /redirect — a 302 whose Location Laravel builds from the request's scheme and Host. */
    public function redirect()
    {
        return redirect()->to('/target');
    }

    /** GET /target — where /redirect points. */
    public function target()
    {
        return response("target\n")->header('Content-Type', 'text/plain; charset=UTF-8');
    }

    /** GET /json — JSON with a custom header and two cookies (encrypted by EncryptCookies). */
    public function json()
    {
        return response()
            ->json(['ok' => true, 'items' => [1, 2, 3], 'text' => "caf\u{e9} \u{2713}"])
            ->header('X-Demo', 'phpbridge')
            ->cookie('first', 'one', 60)                                  // 60 minutes, HttpOnly
            ->cookie('second', 'two', 0, '/users', null, false, false, false, 'strict'); // session cookie, path /users, readable by JS
    }

    /**
     * GET /headers?csp=N — no body (204), a repeated header and a
     * Content-Security-Policy listing N hosts (24 bytes each; default 40).
     */
    public function headers(Request $request)
    {
        $hosts = max(1, min(1000, (int) $request->query('csp', 40)));
        $response = response()->noContent();
        $response->headers->set('Link', ['</css/app.css>; rel=preload; as=style', '</robots.txt>; rel=nofollow']);
        $response->headers->set('Content-Security-Policy', "default-src 'self'; img-src 'self' ".str_repeat('https://cdn.example.com ', $hosts));

        return $response;
    }

    /** POST /upload — a multipart file through $request->file(). */
    public function upload(Request $request)
    {
        $file = $request->file('file');
        if ($file === null || !$file->isValid()) {
            return response()->json([
                'error' => $file === null ? 'no file' : $file->getErrorMessage(),
            ], 422);
        }

        return response()->json([
            'name' => $file->getClientOriginalName(),
            'size' => $file->getSize(),
            'md5' => md5_file($file->getRealPath()),
            'field' => $request->input('note'),
        ]);
    }

    /**
     * GET /stream?n=5&ms=200 — a StreamedResponse that flushes each chunk as
     * it is produced. nginx buffers FastCGI responses unless told not to:
     * ?accel=no adds "X-Accel-Buffering: no", as SSE endpoints behind nginx do.
     */
    public function stream(Request $request)
    {
        $chunks = max(1, min(20, (int) $request->query('n', 5)));
        $delayMs = max(0, min(2000, (int) $request->query('ms', 200)));
        $headers = ['Content-Type' => 'text/plain; charset=UTF-8', 'Cache-Control' => 'no-cache'];
        if ($request->query('accel') === 'no') {
            $headers['X-Accel-Buffering'] = 'no';
        }

        return new StreamedResponse(function () use ($chunks, $delayMs) {
            for ($i = 1; $i <= $chunks; $i++) {
                echo "chunk {$i} of {$chunks}\n";
                if (ob_get_level() > 0) {
                    ob_flush();
                }
                flush();
                if ($i < $chunks) {
                    usleep($delayMs * 1000);
                }
            }
        }, 200, $headers);
    }

    /** GET /big?kb=2048 — a large body generated by PHP (kb KiB, 1 KiB lines). */
    public function big(Request $request)
    {
        $kb = max(1, min(16384, (int) $request->query('kb', 1024)));
        $line = substr(str_repeat(hash('sha256', 'phpbridge'), 16), 0, 1023)."\n";

        return response(str_repeat($line, $kb))->header('Content-Type', 'text/plain; charset=UTF-8');
    }

    /**
     * GET /debug/cgi — the CGI variables the front server handed to PHP-FPM
     * (names from nginx's fastcgi_params and phpbridge's DESIGN.md, plus
     * HTTP_*). A diagnostic for the differential test; an application
     * should not expose this.
     */
    public function cgi(Request $request)
    {
        $names = [
            'GATEWAY_INTERFACE', 'SERVER_SOFTWARE', 'REQUEST_METHOD', 'REQUEST_URI',
            'QUERY_STRING', 'SCRIPT_NAME', 'SCRIPT_FILENAME', 'PHP_SELF', 'DOCUMENT_ROOT',
            'DOCUMENT_URI', 'PATH_INFO', 'PATH_TRANSLATED', 'ORIG_PATH_INFO', 'SERVER_PROTOCOL',
            'CONTENT_TYPE', 'CONTENT_LENGTH', 'REDIRECT_STATUS', 'REMOTE_ADDR', 'REMOTE_PORT',
            'REMOTE_USER', 'SERVER_ADDR', 'SERVER_PORT', 'SERVER_NAME', 'HTTPS', 'REQUEST_SCHEME',
        ];
        $out = [];
        foreach ($request->server->all() as $k => $v) {
            if (in_array($k, $names, true) || strncmp($k, 'HTTP_', 5) === 0 || strncmp($k, 'PHPBRIDGE_', 10) === 0) {
                $out[$k] = $v;
            }
        }
        ksort($out);

        return response()->json($out);
    }
}
