'use strict';
// React 18 peer for the benchmark page defined in benches/PAGE.md.
//
//   GET /bench?boundaries=N&items=K&delay=D   streamed with renderToPipeableStream
//   GET /static/bench.css                      small stylesheet
//
// Env: PORT (default 3001), HOST (default 127.0.0.1), WORKERS (default 1: one
// process, no cluster; >= 2: node:cluster with that many workers),
// CLUSTER_SCHED ("rr" = node's default round-robin in the primary, or "none" =
// workers share the listen socket and the kernel balances), BACKLOG (listen
// backlog, default 511 = node's default).
//
// NODE_ENV must be set before react is required: react picks its production or
// development build at require time.
if (!process.env.NODE_ENV) process.env.NODE_ENV = 'production';

const http = require('node:http');
const cluster = require('node:cluster');
const fs = require('node:fs');
const path = require('node:path');
const React = require('react');
const { renderToPipeableStream } = require('react-dom/server');

const h = React.createElement;
const Suspense = React.Suspense;

const PORT = intEnv('PORT', 3001);
const HOST = process.env.HOST || '127.0.0.1';
const WORKERS = intEnv('WORKERS', 1);
const BACKLOG = intEnv('BACKLOG', 511);

// The data string of PAGE.md; React escapes it on every item.
const TEXT = 'Tom & Jerry <say> "hi" & \'bye\'';

const CSS = fs.readFileSync(
  process.env.BENCH_CSS || path.join(__dirname, '..', '..', '..', 'static', 'bench.css'));

function intEnv(name, dflt) {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`bad ${name}=${v}`);
    process.exit(2);
  }
  return n;
}

// ---------------------------------------------------------------- params

const PARAMS = [
  // name, default, max (min is 0)
  ['boundaries', 3, 64],
  ['items', 20, 1000],
  ['delay', 0, 60000],
];

// Returns { n, k, delay } or { error: 'one-line reason' }.
function parseParams(searchParams) {
  const out = {};
  for (const [name, dflt, max] of PARAMS) {
    const raw = searchParams.get(name); // first occurrence wins
    let v = dflt;
    if (raw !== null) {
      if (!/^[0-9]+$/.test(raw)) {
        return { error: `${name}: not a whole number: ${JSON.stringify(raw).slice(0, 80)}` };
      }
      v = raw.length > 12 ? Infinity : Number(raw);
      if (v > max) return { error: `${name}: out of range 0..=${max}: ${raw.slice(0, 80)}` };
    }
    out[name] = v;
  }
  return { n: out.boundaries, k: out.items, delay: out.delay };
}

// ---------------------------------------------------------------- data

// Per-request resource cache. resource(i) is created on first read and
// resolves after delay * (N - i) / N ms (integer arithmetic), so the last
// boundary resolves first. delay = 0: resolved on the next microtask turn,
// no timer. read() follows the React 18 Suspense contract: throw the pending
// promise, return the value once fulfilled.
function createDataCache(n, delay) {
  const resources = new Map();
  const timers = new Set();
  return {
    resource(i) {
      let r = resources.get(i);
      if (r === undefined) {
        r = { status: 'pending', value: undefined, promise: null };
        const ms = Math.floor((delay * (n - i)) / n);
        r.promise = new Promise((resolve) => {
          const done = () => {
            r.status = 'fulfilled';
            r.value = TEXT;
            resolve(TEXT);
          };
          if (ms === 0) {
            Promise.resolve().then(done);
          } else {
            const t = setTimeout(() => {
              timers.delete(t);
              done();
            }, ms);
            timers.add(t);
          }
        });
        resources.set(i, r);
      }
      return r;
    },
    dispose() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}

function read(r) {
  if (r.status === 'fulfilled') return r.value;
  throw r.promise;
}

// ---------------------------------------------------------------- page

function Section({ i, k, cache }) {
  const text = read(cache.resource(i));
  const items = new Array(k);
  for (let j = 0; j < k; j++) {
    items[j] = h('li', { key: j }, `Item ${i}.${j}: `, h('b', null, text));
  }
  return h('section', { id: `s${i}` }, h('h2', null, `Section ${i}`), h('ul', null, items));
}

function Page({ n, k, cache }) {
  const boundaries = new Array(n);
  for (let i = 0; i < n; i++) {
    boundaries[i] = h(
      Suspense,
      { key: i, fallback: h('p', { className: 'fallback' }, `Loading section ${i}\u2026`) },
      h(Section, { i, k, cache }),
    );
  }
  return h(
    'html',
    { lang: 'en' },
    h(
      'head',
      null,
      h('meta', { charSet: 'utf-8' }),
      h('title', null, 'Bench'),
      h('link', { rel: 'stylesheet', href: '/static/bench.css' }),
    ),
    h(
      'body',
      null,
      h('header', null, h('h1', null, 'Bench')),
      h('main', null, boundaries),
      h('footer', null, 'end of page'),
    ),
  );
}

// ---------------------------------------------------------------- http

function plain(res, status, body, extra) {
  res.writeHead(status, {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(body);
}

function serveBench(req, res, searchParams) {
  const p = parseParams(searchParams);
  if (p.error) return plain(res, 400, p.error + '\n');

  const cache = createDataCache(p.n, p.delay);
  let finished = false;
  const { pipe, abort } = renderToPipeableStream(h(Page, { n: p.n, k: p.k, cache }), {
    onShellReady() {
      res.statusCode = 200;
      res.setHeader('Content-Type', 'text/html; charset=utf-8');
      pipe(res);
    },
    onShellError(err) {
      console.error('shell error', err);
      if (!res.headersSent) plain(res, 500, 'shell error\n');
      else res.destroy();
    },
    onError(err) {
      // Aborts of gone clients land here too; keep quiet about those.
      if (!finished) console.error('render error', err);
    },
  });
  res.on('close', () => {
    cache.dispose();
    if (!res.writableFinished) {
      finished = true;
      abort();
    }
  });
}

function handler(req, res) {
  const q = req.url.indexOf('?');
  const pathname = q === -1 ? req.url : req.url.slice(0, q);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return plain(res, 405, 'method not allowed\n', { Allow: 'GET, HEAD' });
  }
  if (pathname === '/bench') {
    return serveBench(req, res, new URLSearchParams(q === -1 ? '' : req.url.slice(q + 1)));
  }
  if (pathname === '/static/bench.css') {
    res.writeHead(200, {
      'Content-Type': 'text/css; charset=utf-8',
      'Content-Length': CSS.length,
      'Cache-Control': 'public, max-age=3600',
    });
    return res.end(req.method === 'HEAD' ? undefined : CSS);
  }
  return plain(res, 404, 'not found\n');
}

function startServer() {
  const server = http.createServer(handler);
  server.listen({ port: PORT, host: HOST, backlog: BACKLOG }, () => {
    const who = cluster.isWorker ? `worker ${cluster.worker.id} pid ${process.pid}` : `pid ${process.pid}`;
    console.log(`react18 peer (${who}) on http://${HOST}:${PORT} NODE_ENV=${process.env.NODE_ENV}`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeIdleConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (WORKERS >= 2 && cluster.isPrimary) {
  if (process.env.CLUSTER_SCHED === 'none') cluster.schedulingPolicy = cluster.SCHED_NONE;
  else cluster.schedulingPolicy = cluster.SCHED_RR;
  console.log(`react18 peer primary pid ${process.pid}: forking ${WORKERS} workers, sched=${cluster.schedulingPolicy === cluster.SCHED_NONE ? 'none' : 'rr'}`);
  let stopping = false;
  let alive = 0;
  const fork = () => {
    alive++;
    cluster.fork();
  };
  for (let w = 0; w < WORKERS; w++) fork();
  cluster.on('exit', (worker, code, signal) => {
    alive--;
    if (stopping) {
      if (alive <= 0) process.exit(0);
    } else {
      console.error(`worker pid ${worker.process.pid} exited (${signal || code}); restarting`);
      fork();
    }
  });
  const stopAll = () => {
    if (stopping) return;
    stopping = true;
    for (const id in cluster.workers) cluster.workers[id].process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 2500).unref();
  };
  process.on('SIGTERM', stopAll);
  process.on('SIGINT', stopAll);
} else {
  startServer();
}
