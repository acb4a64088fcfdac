// The ssekit demo page: plain JavaScript, no build step, no dependency. Everything a tab shows arrives on ONE
// EventSource (ticker, performance and its notifications), because browsers allow only six HTTP/1.1 connections per
// origin and a few tabs of one-connection-per-panel would exhaust them. The word stream is the only second one, and
// it is closed as soon as it is done.

const $ = (id) => document.getElementById(id);
const TOPICS = 'stocks,perf';
const LOG_SIZE = 12;
const HISTORY = 60;
const NAMES = [
  'otter',
  'heron',
  'lynx',
  'panda',
  'koala',
  'raven',
  'bison',
  'gecko',
  'ibis',
  'manta',
  'okapi',
  'puffin',
];

function randomClientId() {
  const name = NAMES[Math.floor(Math.random() * NAMES.length)];
  return `${name}-${Math.floor(10 + Math.random() * 90)}`;
}

// The client id: from the address (so a reload keeps it) or a new one, written back into the address. A real app
// would take it from its session instead; this API puts it in the path.
const query = new URLSearchParams(location.search);
const clientId = query.get('clientId') || randomClientId();
if (query.get('clientId') !== clientId) {
  query.set('clientId', clientId);
  history.replaceState(null, '', `${location.pathname}?${query}`);
}

const time = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
const bytes = (n) => (n >= 1 << 30 ? `${(n / (1 << 30)).toFixed(1)} GB` : `${(n / (1 << 20)).toFixed(0)} MB`);
const enc = encodeURIComponent;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  // textContent only: messages come from other tabs and must never become markup.
  if (text !== undefined) node.textContent = text;
  return node;
}

async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  const answer = await res.json().catch(() => ({ message: `HTTP ${res.status}` }));
  if (!res.ok) throw new Error(answer.message || `HTTP ${res.status}`);
  return answer;
}

// ---------------------------------------------------------------------------------------------------------------
// The connection: state, cursor, numbering checks, resume report.

const conn = {
  es: undefined,
  opens: 0,
  reconnects: 0,
  received: 0,
  lastEventId: '',
  missing: 0,
  duplicates: 0,
  // Between `open` and the server's `connected` event come the events the hub replayed from history.
  catchingUp: false,
  wasReset: false,
  caughtUp: 0,
  missingAtOpen: 0,
  duplicatesAtOpen: 0,
  ticksSinceOpen: [],
  lastTickSeq: undefined,
  lastPerfSeq: new Map(),
  droppedAfterTick: undefined,
  retry: 0,
};

$('client-id').textContent = clientId;
$('connection-url').textContent = `GET /api/sse/connect/${clientId}?topics=${TOPICS}`;
$('target').value = clientId;
$('new-tab').href = `/?clientId=${enc(randomClientId())}`;

function setState(state, label) {
  const node = $('conn-state');
  node.dataset.state = state;
  node.querySelector('.label').textContent = label;
  $('drop').disabled = state !== 'open';
  $('reconnect').hidden = state !== 'closed';
}

function renderFacts() {
  $('last-event-id').textContent = conn.lastEventId || 'none yet';
  $('events-received').textContent = String(conn.received);
  $('reconnects').textContent = String(conn.reconnects);
  const gaps = $('gaps');
  gaps.textContent = conn.duplicates > 0 ? `${conn.missing} (+${conn.duplicates} dup)` : String(conn.missing);
  gaps.dataset.gaps = String(conn.missing);
  gaps.dataset.duplicates = String(conn.duplicates);
  gaps.className = `mono ${conn.missing === 0 && conn.duplicates === 0 ? 'good' : 'bad'}`;
}

function report(state, text) {
  const node = $('resume-info');
  node.dataset.state = state;
  node.textContent = text;
}

function log(type, id, what, flags = '') {
  const list = $('log');
  const item = el('li', `${flags}`);
  item.append(el('span', 'n', `#${conn.received}`), el('span', `type t-${type}`, type));
  item.append(el('span', 'id mono', id || '·'), el('span', 'what', what));
  list.prepend(item);
  while (list.children.length > LOG_SIZE) list.lastElementChild.remove();
}

/** Checks a numbered feed for holes and repeats. Returns a flag for the log. */
function checkSequence(previous, seq) {
  if (previous === undefined || seq === 1) return '';
  if (seq === previous + 1) return '';
  if (seq > previous + 1) {
    conn.missing += seq - previous - 1;
    return 'gap';
  }
  conn.duplicates++;
  return 'dup';
}

function connect(resumeFrom) {
  const base = `/api/sse/connect/${enc(clientId)}?topics=${TOPICS}`;
  // A new EventSource starts without a cursor; core accepts it as a query parameter (header first, this second).
  const es = new EventSource(resumeFrom ? `${base}&lastEventId=${enc(resumeFrom)}` : base);
  conn.es = es;
  conn.manualResume = Boolean(resumeFrom);
  setState('connecting', 'Connecting');

  es.addEventListener('open', () => {
    if (es !== conn.es) return;
    conn.opens++;
    if (conn.opens > 1) conn.reconnects++;
    conn.catchingUp = conn.opens > 1 || conn.manualResume;
    conn.caughtUp = 0;
    conn.ticksSinceOpen = [];
    conn.missingAtOpen = conn.missing;
    conn.duplicatesAtOpen = conn.duplicates;
    setState('open', 'Open');
    renderFacts();
  });

  es.addEventListener('error', () => {
    if (es !== conn.es) return;
    if (es.readyState === EventSource.CONNECTING) {
      if (conn.droppedAfterTick === undefined) conn.droppedAfterTick = conn.lastTickSeq;
      setState('reconnecting', conn.retry ? `Reconnecting in ${conn.retry / 1000} s` : 'Reconnecting');
      report(
        'waiting',
        `Connection lost after ${conn.lastEventId || 'no event'}. The browser reconnects by itself and will send Last-Event-ID: ${conn.lastEventId || '(none)'}.`,
      );
    } else {
      setState('closed', 'Closed');
    }
  });

  for (const type of ['connected', 'tick', 'perf', 'notify', 'bye', 'ssekit-reset']) {
    es.addEventListener(type, (event) => {
      if (es !== conn.es) return;
      onEvent(type, event, es);
    });
  }
}

function onEvent(type, event, es) {
  conn.received++;
  if (event.lastEventId) conn.lastEventId = event.lastEventId;
  const data = JSON.parse(event.data);
  const replaying = conn.catchingUp && type !== 'connected';
  if (replaying) conn.caughtUp++;
  const replayFlag = replaying ? 'replayed' : '';
  switch (type) {
    case 'connected':
      onConnected(data);
      log(type, '', `${data.instance}${data.resumedFrom ? `, resumed after ${data.resumedFrom}` : ''}`);
      break;
    case 'tick': {
      const flag = checkSequence(conn.lastTickSeq, data.seq);
      conn.lastTickSeq = data.seq;
      if (replaying) conn.ticksSinceOpen.push(data.seq);
      renderTick(data);
      const first = data.quotes[0];
      log(
        type,
        event.lastEventId,
        `tick #${data.seq} · ${first.symbol} ${first.price.toFixed(2)}`,
        `${replayFlag} ${flag}`,
      );
      break;
    }
    case 'perf': {
      const flag = checkSequence(conn.lastPerfSeq.get(data.instance), data.seq);
      conn.lastPerfSeq.set(data.instance, data.seq);
      renderPerf(data);
      log(
        type,
        event.lastEventId,
        `${data.instance} #${data.seq} · ${data.eventsPerSecond} ev/s`,
        `${replayFlag} ${flag}`,
      );
      break;
    }
    case 'notify':
      renderNotification(data, event.lastEventId, replaying);
      // Short enough that the row keeps room for its "replayed" mark.
      log(
        type,
        event.lastEventId,
        data.message.length > 36 ? `${data.message.slice(0, 35)}…` : data.message,
        replayFlag,
      );
      break;
    case 'bye':
      log(type, event.lastEventId, data.reason, replayFlag);
      // The API asked this client to leave: close, or the browser would reconnect after the server ends the stream.
      es.close();
      setState('closed', 'Disconnected by the server');
      report(
        'closed',
        `The server disconnected ${clientId} (DELETE /api/sse/disconnect/${clientId}). Reconnect resumes from ${conn.lastEventId}.`,
      );
      break;
    case 'ssekit-reset':
      // The hub could not resume from our cursor (the server restarted, or it fell out of history).
      conn.wasReset = true;
      conn.lastTickSeq = undefined;
      conn.lastPerfSeq.clear();
      log(type, event.lastEventId, `cannot resume: ${data.reason}`, 'reset');
      report(
        'reset',
        `The server could not resume from ${data.lastEventId ?? 'your cursor'} (${data.reason}): it no longer has that history, so this tab continues from now.`,
      );
      break;
  }
  renderFacts();
}

function onConnected(data) {
  $('badge-framework').textContent = data.framework === 'fastify' ? 'Fastify' : 'Express';
  $('badge-framework').dataset.framework = data.framework;
  $('badge-broker').textContent = data.broker === 'redis' ? 'Redis broker' : 'in-memory hub';
  $('badge-instance').textContent = data.instance;
  conn.retry = data.retry ?? conn.retry;
  if (conn.catchingUp && data.resumedFrom && !conn.wasReset) {
    const ticks = conn.ticksSinceOpen;
    const first = ticks[0];
    const last = ticks[ticks.length - 1];
    let detail = '';
    if (first !== undefined) {
      detail = first === last ? `tick #${first}` : `ticks #${first}–#${last}`;
      if (conn.droppedAfterTick !== undefined) detail += `, right after #${conn.droppedAfterTick}`;
      detail = ` (${detail})`;
    }
    const clean = conn.missing === conn.missingAtOpen && conn.duplicates === conn.duplicatesAtOpen;
    const n = conn.caughtUp;
    report(
      clean ? 'resumed' : 'gap',
      `Resumed with Last-Event-ID ${data.resumedFrom}: ${n} missed event${n === 1 ? '' : 's'} replayed${detail}. ` +
        (clean ? 'No gap, no duplicate ✓' : 'Events are missing ✗'),
    );
  }
  conn.catchingUp = false;
  conn.wasReset = false;
  conn.droppedAfterTick = undefined;
}

$('drop').addEventListener('click', async () => {
  $('drop').disabled = true;
  try {
    const answer = await api('POST', `/api/sse/drop/${enc(clientId)}`);
    if (answer.dropped === 0) report('none', 'This tab has no connection on this instance to drop.');
  } catch (error) {
    report('none', `Drop failed: ${error.message}`);
  }
});

$('reconnect').addEventListener('click', () => {
  conn.es?.close();
  connect(conn.lastEventId);
});

// ---------------------------------------------------------------------------------------------------------------
// Stock ticker.

const quotes = new Map();

function sparkline(values, width, height) {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const span = max - min || 1;
  const step = width / (HISTORY - 1);
  const offset = (HISTORY - values.length) * step;
  const points = values.map(
    (v, i) => `${(offset + i * step).toFixed(1)},${(height - 2 - ((v - min) / span) * (height - 4)).toFixed(1)}`,
  );
  return { line: points.join(' '), area: `${offset.toFixed(1)},${height} ${points.join(' ')} ${width},${height}` };
}

function renderTick(tick) {
  const body = $('quotes');
  body.querySelector('.placeholder')?.remove();
  for (const q of tick.quotes) {
    let row = quotes.get(q.symbol);
    if (!row) {
      const tr = el('tr');
      const name = el('td', 'symbol');
      name.append(el('strong', '', q.symbol), el('span', 'company', q.name));
      const spark = el('td', 'spark-col');
      spark.innerHTML =
        '<svg viewBox="0 0 160 32" preserveAspectRatio="none"><polygon class="area"/><polyline class="line"/></svg>';
      const priceCell = el('td', 'num');
      const price = el('span', 'price mono');
      priceCell.append(price);
      const change = el('td', 'num change mono');
      tr.append(name, spark, priceCell, change);
      body.append(tr);
      row = { tr, spark, price, change, history: [] };
      quotes.set(q.symbol, row);
    }
    const previous = row.history[row.history.length - 1];
    row.history.push(q.price);
    if (row.history.length > HISTORY) row.history.shift();
    const trend = q.change >= 0 ? 'up' : 'down';
    row.tr.dataset.trend = trend;
    const { line, area } = sparkline(row.history, 160, 32);
    row.spark.querySelector('.line').setAttribute('points', line);
    row.spark.querySelector('.area').setAttribute('points', area);
    row.price.textContent = q.price.toFixed(2);
    row.change.textContent = `${q.change >= 0 ? '▲' : '▼'} ${Math.abs(q.change).toFixed(2)}  ${q.changePercent >= 0 ? '+' : ''}${q.changePercent.toFixed(2)}%`;
    if (previous !== undefined && previous !== q.price) {
      row.price.classList.remove('flash-up', 'flash-down');
      void row.price.offsetWidth; // restarts the animation
      row.price.classList.add(q.price > previous ? 'flash-up' : 'flash-down');
    }
  }
  const seq = $('tick-seq');
  seq.textContent = `#${tick.seq}`;
  seq.dataset.seq = String(tick.seq);
}

// ---------------------------------------------------------------------------------------------------------------
// Server performance, one block per instance (several share a Redis hub).

const instances = new Map();

function metric(label, unit) {
  const node = el('div', 'metric');
  const value = el('span', 'value mono');
  node.append(el('span', 'label', label), value);
  const meter = el('div', 'meter');
  const fill = el('i');
  meter.append(fill);
  if (unit === 'meter') node.append(meter);
  return { node, value, fill };
}

function renderPerf(sample) {
  let block = instances.get(sample.instance);
  if (!block) {
    $('instances').querySelector('.placeholder')?.remove();
    const root = el('div', 'instance');
    root.dataset.instance = sample.instance;
    const head = el('div', 'instance-head');
    const title = el('span', 'mono', sample.instance);
    const meta = el('span', 'muted');
    head.append(title, meta);
    const grid = el('div', 'metrics');
    const m = {
      cpu: metric('CPU (one core)', 'meter'),
      rss: metric('Memory (RSS)'),
      heap: metric('JS heap'),
      system: metric('System memory', 'meter'),
      connections: metric('Connections'),
      clients: metric('Client ids'),
      events: metric('Events / s'),
      bytes: metric('Bytes / s'),
    };
    for (const { node } of Object.values(m)) grid.append(node);
    const chart = el('div', 'chart');
    chart.innerHTML =
      '<svg viewBox="0 0 600 70" preserveAspectRatio="none"><polygon class="chart-area"/><polyline class="chart-line"/></svg><span class="chart-label"></span>';
    root.append(head, grid, chart);
    $('instances').append(root);
    block = { root, meta, m, chart, history: [], clientIds: [] };
    instances.set(sample.instance, block);
  }
  const { m } = block;
  block.meta.textContent = `${sample.framework === 'fastify' ? 'Fastify' : 'Express'} · sample #${sample.seq} · load ${sample.load} on ${sample.cores} cores`;
  m.cpu.value.textContent = `${sample.cpu.toFixed(1)} %`;
  m.cpu.fill.style.width = `${Math.min(100, sample.cpu)}%`;
  m.rss.value.textContent = bytes(sample.rss);
  m.heap.value.textContent = bytes(sample.heapUsed);
  m.system.value.textContent = `${(sample.systemMemoryUsed / 2 ** 30).toFixed(1)} / ${bytes(sample.systemMemoryTotal)}`;
  m.system.fill.style.width = `${Math.min(100, (sample.systemMemoryUsed / sample.systemMemoryTotal) * 100)}%`;
  m.connections.value.textContent = String(sample.connections);
  m.clients.value.textContent = String(sample.clients);
  m.events.value.textContent = String(sample.eventsPerSecond);
  m.bytes.value.textContent =
    sample.bytesPerSecond >= 1024 ? `${(sample.bytesPerSecond / 1024).toFixed(1)} KB` : `${sample.bytesPerSecond} B`;
  block.history.push(sample.eventsPerSecond);
  if (block.history.length > HISTORY) block.history.shift();
  const max = Math.max(1, ...block.history);
  const scaled = block.history.map((v) => (v / max) * 60 + 5);
  const { line, area } = sparkline(scaled.length > 1 ? scaled : [scaled[0], scaled[0]], 600, 70);
  block.chart.querySelector('.chart-line').setAttribute('points', line);
  block.chart.querySelector('.chart-area').setAttribute('points', area);
  block.chart.querySelector('.chart-label').textContent =
    `events delivered per second, last ${HISTORY} samples (max ${max})`;
  block.clientIds = sample.clientIds;
  renderOnline();
}

function renderOnline() {
  const ids = new Set();
  for (const block of instances.values()) for (const id of block.clientIds) ids.add(id);
  const list = $('online');
  list.replaceChildren(...[...ids].sort().map((id) => Object.assign(el('option'), { value: id })));
}

// ---------------------------------------------------------------------------------------------------------------
// Notifications (the notification registry's API).

function renderNotification(note, id, replayed) {
  const inbox = $('inbox');
  inbox.querySelector('.placeholder')?.remove();
  const item = el('li', `note scope-${note.scope}${replayed ? ' replayed' : ''}`);
  const tag = note.scope === 'all' ? 'to all' : note.scope === 'system' ? 'server' : 'to you';
  item.append(el('span', 'tag', tag), el('span', 'message', note.message));
  item.append(el('span', 'meta mono', `${time(note.at)} · via ${note.via} · id ${id}${replayed ? ' · replayed' : ''}`));
  inbox.prepend(item);
  while (inbox.children.length > 8) inbox.lastElementChild.remove();
}

function result(text, ok) {
  const node = $('send-result');
  node.textContent = text;
  node.className = `result ${ok ? 'ok' : 'error'}`;
}

$('send-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const target = $('target').value.trim();
  const message = $('message').value;
  try {
    const answer = await api('POST', `/api/sse/send/${enc(target)}`, { message });
    result(`Sent as event ${answer.id} to ${target}.`, true);
    $('message').value = '';
  } catch (error) {
    result(error.message, false);
  }
});

$('send-all').addEventListener('click', async () => {
  const message = $('message').value;
  try {
    const answer = await api('POST', '/api/sse/sendAll', { message });
    result(`Sent to every client as event ${answer.id}.`, true);
    $('message').value = '';
  } catch (error) {
    result(error.message, false);
  }
});

$('disconnect').addEventListener('click', async () => {
  const target = $('target').value.trim();
  try {
    const answer = await api('DELETE', `/api/sse/disconnect/${enc(target)}`);
    result(`Told ${target} to disconnect (${answer.disconnected} connection(s) ended on this instance).`, true);
  } catch (error) {
    result(error.message, false);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// The finite word stream.

const words = { es: undefined, runs: 0, total: 0 };

function wordsState(state, text) {
  const node = $('words-state');
  node.dataset.state = state;
  node.textContent = text;
}

$('words-start').addEventListener('click', () => {
  words.es?.close();
  words.runs++;
  const text = $('words-text');
  text.replaceChildren();
  text.dataset.count = '0';
  $('words-bar').style.width = '0%';
  $('words-start').disabled = true;
  const es = new EventSource('/api/words');
  words.es = es;
  wordsState('streaming', 'Streaming…');
  es.addEventListener('word', (event) => {
    const count = Number(text.dataset.count) + 1;
    text.dataset.count = String(count);
    text.append(el('span', 'word', event.data), ' ');
    // The server sends the total with `done`; until then the bar follows the length of the previous run.
    if (words.total) $('words-bar').style.width = `${Math.min(100, (count / words.total) * 100)}%`;
    wordsState('streaming', `Streaming… ${count} word${count === 1 ? '' : 's'}`);
  });
  es.addEventListener('done', (event) => {
    const { words: total } = JSON.parse(event.data);
    words.total = total;
    // Without this close, EventSource would reconnect when the server ends the response, and replay the words forever.
    es.close();
    $('words-bar').style.width = '100%';
    $('words-start').disabled = false;
    $('words-start').textContent = 'Stream again';
    wordsState(
      'done',
      `Done: ${total} words. The server ended the stream with a done event and the page closed its EventSource (run ${words.runs}).`,
    );
  });
  es.addEventListener('error', () => {
    if (es !== words.es || es.readyState === EventSource.CLOSED) return;
    // Dropped halfway: this stream has no ids to resume from, so stop rather than start over unasked.
    es.close();
    $('words-start').disabled = false;
    wordsState('interrupted', 'Interrupted: the connection dropped before the end. Press Stream again.');
  });
});

connect();
