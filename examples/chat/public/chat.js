// The chat page: a nickname form, then one WebSocket to phpbridge's /ws.
// Every frame from the server is a JSON object (examples/chat/src/Messages.php):
// presence (join/leave + online count), message, announce, error.
(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var joinForm = $('join'), nickInput = $('nick'), joinError = $('join-error');
  var chat = $('chat'), list = $('messages'), sendForm = $('send'), input = $('input');
  var status = $('status'), online = $('online');

  var nick = '';
  var socket = null;
  var opened = false;    // did the current nickname ever get a connection?
  var retry = 0;         // reconnect attempts since the last open
  var retryTimer = 0;

  try { nickInput.value = localStorage.getItem('chat.nick') || ''; } catch (e) { /* storage disabled */ }

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  // add appends one line; text goes in as text, never as HTML.
  function add(kind, who, text, at) {
    var li = document.createElement('li');
    li.className = kind;
    li.dataset.type = kind;
    if (at) {
      var time = document.createElement('time');
      var d = new Date(at);
      time.dateTime = d.toISOString();
      time.textContent = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      li.appendChild(time);
    }
    if (who !== null) {
      li.dataset.nick = who;
      var b = document.createElement('span');
      b.className = 'nick';
      b.textContent = who + ':';
      li.appendChild(b);
      if (who === nick) { li.classList.add('mine'); }
    }
    var body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    li.appendChild(body);
    var atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    list.appendChild(li);
    if (atBottom) { list.scrollTop = list.scrollHeight; }
  }

  function handle(m) {
    switch (m.type) {
      case 'presence':
        online.textContent = String(m.online);
        add('presence', null, m.nick + (m.event === 'join' ? ' joined' : ' left'));
        break;
      case 'message':
        add('message', m.nick, m.text, m.at);
        break;
      case 'announce':
        add('announce', null, (m.private ? 'To you: ' : 'Announcement: ') + m.text, m.at);
        break;
      case 'error':
        add('error', null, m.text);
        break;
    }
  }

  function connect() {
    clearTimeout(retryTimer);
    var scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    var ws = new WebSocket(scheme + '//' + location.host + '/ws?nick=' + encodeURIComponent(nick));
    socket = ws;
    setStatus('connecting', 'connecting…');

    ws.onopen = function () {
      opened = true;
      retry = 0;
      setStatus('open', 'connected as ' + nick);
      joinForm.hidden = true;
      chat.hidden = false;
      input.focus();
    };
    ws.onmessage = function (ev) {
      var m;
      try { m = JSON.parse(ev.data); } catch (e) { add('presence', null, String(ev.data)); return; }
      handle(m);
    };
    ws.onclose = function () {
      if (socket !== ws) { return; }
      socket = null;
      if (!opened) {
        // The handshake was refused (onOpen answered 400): a browser is not
        // told the status, so say what the server checks.
        setStatus('refused', 'not connected');
        joinError.textContent = 'Could not join: choose a nickname of 1 to 24 characters.';
        joinError.hidden = false;
        joinForm.hidden = false;
        chat.hidden = true;
        return;
      }
      // The server restarted or the network blinked: come back.
      var delay = Math.min(10000, 500 * Math.pow(2, retry++));
      setStatus('closed', 'disconnected, retrying in ' + Math.round(delay / 1000) + ' s');
      retryTimer = setTimeout(connect, delay);
    };
  }

  joinForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    nick = nickInput.value.replace(/\s+/g, ' ').trim();
    if (!nick) { nickInput.focus(); return; }
    try { localStorage.setItem('chat.nick', nick); } catch (e) { /* storage disabled */ }
    joinError.hidden = true;
    opened = false;
    connect();
  });

  sendForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = input.value.trim();
    if (!text || !socket || socket.readyState !== WebSocket.OPEN) { return; }
    socket.send(JSON.stringify({ text: text }));
    input.value = '';
    input.focus();
  });
}());
