#!/usr/bin/env node
// http_server.mjs: an independent HTTP/1.1 server (Node's `http` module) for Pylon's HTTP client
// tests, loopback only, keep-alive on. Routes:
//   GET /ndjson?lines=N&gap_ms=G   chunked application/x-ndjson: N lines {"i":k,"text":"line k"}
//                                  (one res.write each), G ms apart (first line at once)
//   GET /sse?events=N&gap_ms=G     chunked text/event-stream, one write per item, G ms apart:
//                                  for k in 0..N-1: `data: {"i":k}\n\n`, except that a comment
//                                  `: comment\n\n` is written before event 1 and the last event
//                                  is `event: last\ndata: {"i":N-1}\n\n`; then `data: [DONE]\n\n`
//   GET /length?bytes=N            Content-Length body of N bytes, byte i = 'a' + i mod 26
//   GET /reset-after?bytes=N       chunked body: N bytes of the same pattern, then the TCP
//                                  connection is reset (RST; &mode=close closes with FIN instead)
//                                  without the terminating chunk
//   GET /slow-first-byte?ms=M      waits M ms before sending anything, then 200 "ok\n"
//   GET /hold                      chunked text/plain, "tick <n>\n" every 100 ms forever; a client
//                                  closing the connection is counted (closed_by_client)
//   GET /_stats                    {"requests":n,"closed_by_client":n} (requests excludes /_stats)
//   ANY /echo                      200 application/json {"method","url","headers","body"}
//   GET /status?code=C             status C with body "status C\n"
//   anything else                  404
//
// Usage: node http_server.mjs [--port N] [--max-runtime-s S]
// First stdout line: "READY port=<n>". SIGTERM/SIGINT: close and exit 0.
import http from 'node:http';
import process from 'node:process';

import { runPeer, servePeer } from './peer_common.mjs';

const BODY_BYTES_MAX = 64 * 1024 * 1024;
const ITEMS_MAX = 100000;
const DELAY_MS_MAX = 600000;
const HOLD_TICK_MS = 100;

const stats = { requests: 0, closed_by_client: 0 };

function parseArgs(argv) {
  const opts = { port: 0, maxRuntimeS: 900 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') opts.port = Number(argv[++i]);
    else if (a === '--max-runtime-s') opts.maxRuntimeS = Number(argv[++i]);
    else if (a === '--help') {
      process.stdout.write('usage: node http_server.mjs [--port N] [--max-runtime-s S]\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(opts.port) || !Number.isInteger(opts.maxRuntimeS)) {
    throw new Error('--port and --max-runtime-s take integers');
  }
  return opts;
}

function intParam(url, name, fallback, max) {
  const v = Number(url.searchParams.get(name) ?? fallback);
  return Number.isInteger(v) && v >= 0 ? Math.min(v, max) : fallback;
}

function pattern(n) {
  const buf = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) buf[i] = 97 + (i % 26);
  return buf;
}

// Writes items[0..] one per res.write, gapMs apart, then ends the response.
function writeSpaced(req, res, items, gapMs) {
  let k = 0;
  let timer = null;
  const step = () => {
    if (res.destroyed) return;
    if (k === items.length) {
      res.end();
      return;
    }
    res.write(items[k++]);
    timer = setTimeout(step, gapMs);
  };
  req.on('close', () => clearTimeout(timer));
  step();
}

function ndjson(req, res, url) {
  const lines = intParam(url, 'lines', 3, ITEMS_MAX);
  const gap = intParam(url, 'gap_ms', 0, DELAY_MS_MAX);
  const items = [];
  for (let k = 0; k < lines; k++) items.push(JSON.stringify({ i: k, text: `line ${k}` }) + '\n');
  res.writeHead(200, { 'Content-Type': 'application/x-ndjson' });
  writeSpaced(req, res, items, gap);
}

function sse(req, res, url) {
  const events = intParam(url, 'events', 3, ITEMS_MAX);
  const gap = intParam(url, 'gap_ms', 0, DELAY_MS_MAX);
  const items = [];
  for (let k = 0; k < events; k++) {
    if (k === 1) items.push(': comment\n\n');
    const data = `data: ${JSON.stringify({ i: k })}\n\n`;
    items.push(k === events - 1 ? `event: last\n${data}` : data);
  }
  items.push('data: [DONE]\n\n');
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  writeSpaced(req, res, items, gap);
}

function resetAfter(req, res, url) {
  const n = intParam(url, 'bytes', 100, BODY_BYTES_MAX);
  res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
  res.write(pattern(n), () => {
    if (url.searchParams.get('mode') === 'close') {
      res.destroy();
    } else {
      res.socket.resetAndDestroy();
    }
  });
}

function hold(req, res) {
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  let n = 0;
  const timer = setInterval(() => res.write(`tick ${n++}\n`), HOLD_TICK_MS);
  res.write(`tick ${n++}\n`);
  res.on('close', () => {
    clearInterval(timer);
    if (!res.writableEnded) stats.closed_by_client++;
  });
}

function echoRequest(req, res, url) {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size <= BODY_BYTES_MAX) chunks.push(c);
  });
  req.on('end', () => {
    const body = JSON.stringify({ method: req.method, url: url.pathname + url.search,
                                  headers: req.headers,
                                  body: Buffer.concat(chunks).toString('utf8') });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(body);
  });
}

function route(req, res) {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/_stats') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(stats));
    return;
  }
  stats.requests++;
  switch (url.pathname) {
    case '/ndjson': return ndjson(req, res, url);
    case '/sse': return sse(req, res, url);
    case '/length': {
      const body = pattern(intParam(url, 'bytes', 100, BODY_BYTES_MAX));
      res.writeHead(200, { 'Content-Type': 'application/octet-stream',
                           'Content-Length': body.length });
      return res.end(body);
    }
    case '/reset-after': return resetAfter(req, res, url);
    case '/slow-first-byte': {
      const timer = setTimeout(() => {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('ok\n');
      }, intParam(url, 'ms', 1000, DELAY_MS_MAX));
      return req.on('close', () => clearTimeout(timer));
    }
    case '/hold': return hold(req, res);
    case '/echo': return echoRequest(req, res, url);
    case '/status': {
      const code = intParam(url, 'code', 200, 599);
      res.writeHead(code >= 100 ? code : 200, { 'Content-Type': 'text/plain' });
      return res.end(`status ${code}\n`);
    }
    default:
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found\n');
  }
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const server = http.createServer(route);
  server.keepAliveTimeout = 60000;
  servePeer('http_server', server, opts, () => {
    server.closeAllConnections();
    server.close();
  });
}

runPeer('http_server', main);
