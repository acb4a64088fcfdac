// The chat panel: a prompt POSTed with @ssekit/client (served at /client.js: the package's own browser bundle), the
// answer read as a resumable stream, token by token. Plain JavaScript like the rest of the page. The events and their
// data are declared once, in demo/src/chat-events.ts, which the server's producer is checked against; a TypeScript
// page would write `connect<ChatEvents>(…)` and get each event's data typed.
import { connect } from '/client.js';

/** @typedef {import('../src/chat-events.ts').ChatEvents} ChatEvents */

const $ = (id) => document.getElementById(id);
// The stream key and the prompt, kept while an answer runs: a reload resumes the same stream instead of asking again.
const SAVED = 'ssekit-demo:chat';

/** The answer on screen; replaced by the next Ask. */
let run;

function setState(state, label) {
  const node = $('chat-state');
  node.dataset.state = state;
  node.querySelector('.label').textContent = label;
}

function status(state, text) {
  const node = $('chat-status');
  node.dataset.state = state;
  node.textContent = text;
}

function note(text, data = {}) {
  const item = document.createElement('li');
  item.textContent = text;
  Object.assign(item.dataset, data);
  $('chat-log').append(item);
}

function buttons(running) {
  $('chat-ask').disabled = running;
  $('chat-drop').disabled = !running;
  $('chat-stop').disabled = !running;
}

function renderCounts() {
  $('chat-tokens').textContent = run.total ? `${run.next} / ${run.total}` : String(run.next);
  $('chat-connections').textContent = String(run.connections);
  const gaps = $('chat-gaps');
  gaps.dataset.missing = String(run.missing);
  gaps.dataset.repeated = String(run.repeated);
  gaps.textContent = `${run.missing} / ${run.repeated}`;
  gaps.className = `mono ${run.missing + run.repeated === 0 ? 'good' : 'bad'}`;
}

/** Starts an answer to `prompt`, or, with `streamKey`, reads a stream already started (after a reload). */
function ask(prompt, streamKey) {
  run?.client.close();
  const current = { client: undefined, socket: undefined, next: 0, total: 0, connections: 0, missing: 0, repeated: 0 };
  current.stopping = false;
  run = current;
  const mine = () => run === current;
  const answer = $('chat-answer');
  answer.replaceChildren();
  answer.dataset.tokens = '0';
  $('chat-log').replaceChildren();
  $('chat-key').textContent = streamKey ?? 'none yet';
  renderCounts();
  buttons(true);
  setState('connecting', 'Connecting');
  status('streaming', streamKey ? 'Reloaded: reading the same stream again from its start…' : 'Asking…');

  // A fetch whose current request "Drop connection" aborts: the client sees it fail as on a lost network and
  // resumes (its own close() would stop it for good instead).
  const droppable = (url, init) => {
    const cut = new AbortController();
    current.socket = cut;
    return fetch(url, { ...init, signal: init.signal ? AbortSignal.any([init.signal, cut.signal]) : cut.signal });
  };

  const client = connect('/api/chat', {
    method: 'POST',
    // A Blob carries its content type with the body, which only the first request sends: a resume has no body, and
    // a `content-type: application/json` header on an empty body is a 400 on Fastify.
    body: streamKey ? undefined : new Blob([JSON.stringify({ prompt })], { type: 'application/json' }),
    streamKey,
    fetch: droppable,
    onOpen: (response) => {
      if (!mine()) return;
      current.connections++;
      const instance = response.headers.get('x-demo-instance') ?? 'unknown';
      const from = client.lastEventId;
      if (current.connections === 1 && !streamKey) note(`Started on ${instance}`, { kind: 'start', instance });
      else note(`Resumed on ${instance} after event ${from || 'none'}`, { kind: 'resume', instance, from });
      $('chat-key').textContent = client.streamKey ?? 'none yet';
      if (client.streamKey) sessionStorage.setItem(SAVED, JSON.stringify({ key: client.streamKey, prompt }));
      setState('open', 'Streaming');
      status('streaming', 'Streaming…');
      renderCounts();
    },
    onRetry: ({ delay }) => {
      if (!mine()) return;
      setState('reconnecting', 'Reconnecting');
      status(
        'dropped',
        `Connection lost after ${current.next} tokens. Resuming in ${Math.round(delay)} ms with the stream key and Last-Event-ID ${client.lastEventId}, without the prompt…`,
      );
    },
  });
  current.client = client;

  client.on('answer', (data) => {
    if (!mine()) return;
    current.total = data.tokens;
    renderCounts();
  });
  client.on('token', (data) => {
    if (!mine()) return;
    // Token indexes count from 0: anything but the next one would be a hole or a repeat.
    if (data.index < current.next) {
      current.repeated++;
    } else {
      current.missing += data.index - current.next;
      current.next = data.index + 1;
      const token = document.createElement('span');
      token.className = current.connections > 1 ? 'token resumed' : 'token';
      token.textContent = data.text;
      answer.append(token);
      answer.dataset.tokens = String(current.next);
    }
    renderCounts();
  });
  client.on('usage', (data) => {
    if (mine()) note(`The model produced ${data.tokens} tokens in ${(data.ms / 1000).toFixed(1)} s`, { kind: 'usage' });
  });

  client.done
    .then(() => {
      if (!mine() || current.stopping) return;
      status(
        'done',
        `Done: ${current.next} tokens over ${current.connections} connection(s), none missing or repeated` +
          `${current.missing + current.repeated === 0 ? '' : ' (not so: see the counts above)'}.`,
      );
    })
    .catch((error) => {
      if (!mine()) return;
      const detail = [error.status && `HTTP ${error.status}`, error.reason].filter(Boolean).join(', ');
      status('error', `${error.code}${detail ? ` (${detail})` : ''}: ${error.message}`);
    })
    .finally(() => {
      if (!mine()) return;
      sessionStorage.removeItem(SAVED);
      buttons(false);
      setState('closed', current.stopping ? 'Stopped' : 'Finished');
    });
}

$('chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const prompt = $('chat-prompt').value.trim();
  if (prompt !== '') ask(prompt);
});

$('chat-drop').addEventListener('click', () => {
  if (!run?.socket || run.client.state !== 'open') return;
  note(`Dropped after ${run.next} tokens`, { kind: 'drop', at: String(run.next) });
  run.socket.abort(new DOMException('Dropped by the demo', 'AbortError'));
});

$('chat-stop').addEventListener('click', () => {
  const current = run;
  if (!current) return;
  current.stopping = true;
  status('stopping', 'Stopping…');
  // cancel(): the client closes, then sends the key with `Ssekit-Stream-Action: cancel`; the server answers 204 and
  // aborts the model's signal, on whichever instance runs it.
  current.client.cancel().then(
    () => {
      if (run === current) status('stopped', `Stopped after ${current.next} tokens: the server cancelled the model.`);
    },
    (error) => {
      if (run === current) status('error', `${error.code}: ${error.message}`);
    },
  );
});

const saved = JSON.parse(sessionStorage.getItem(SAVED) ?? 'null');
if (saved?.key && typeof saved.prompt === 'string') {
  $('chat-prompt').value = saved.prompt;
  ask(saved.prompt, saved.key);
}
