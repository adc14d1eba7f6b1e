@extends('layouts.app')

@section('title', 'Form')

@section('content')
    <h1>A CSRF-protected form</h1>
    @if ($errors->any())
        <p class="errors">{{ $errors->first('name') }}</p>
    @endif
    <form method="POST" action="{{ url('/form') }}">
        @csrf
        <input name="name" value="{{ old('name') }}" placeholder="Your name">
        <button type="submit">Send</button>
    </form>
@endsection
