#!/usr/bin/env node
// ws_server.mjs: an independent WebSocket server (the `ws` 8.23 package) for Pylon's WebSocket
// client tests, plain or TLS, loopback only. One server serves every case, chosen per
// connection by the URL path:
//   /echo                echoes each message back: text as text, binary as binary
//   /fragmented?parts=K  echoes each message back split into K fragments (default 3; a text
//                        frame then K-1 continuation frames, cut on byte boundaries, so UTF-8
//                        sequences may straddle fragments)
//   /ping?interval_ms=I  sends a ping every I ms (default 100; payload "p<n>") and counts the
//                        pongs whose payload matches; the text message "pongs?" is answered
//                        with {"pings":P,"pongs":Q}; other messages are echoed
//   /close               closes with code 4000, reason "bye" after the first message
//   /big?bytes=N         sends one text message of N bytes at once after the handshake
//                        (byte i is 'a' + i mod 26), then echoes
//   /stall-handshake     reads the upgrade request and never answers it
//   /bad-accept          answers the upgrade with 101 and a wrong Sec-WebSocket-Accept
//   /no-pong             a WebSocket that never answers pings (autoPong off); echoes messages
// Any other path: the upgrade is refused with 404. A plain GET gets 426.
//
// Usage: node ws_server.mjs [--port N] [--tls --cert FILE --key FILE] [--max-runtime-s S]
//   --port N            listen on 127.0.0.1:N (default 0 = any free port)
//   --tls               serve wss:// through https.createServer with --cert and --key (PEM)
//   --max-runtime-s S   exit (code 0) after S seconds (default 900; 0 = never)
// First stdout line: "READY port=<n>". SIGTERM/SIGINT: close and exit 0. Messages up to
// 64 MiB are accepted (maxPayload) so clients can test their own limits.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import process from 'node:process';

import { WebSocketServer } from 'ws';

import { runPeer, servePeer } from './peer_common.mjs';

const MESSAGE_BYTES_MAX = 64 * 1024 * 1024;
const BIG_BYTES_MAX = 64 * 1024 * 1024;
const FRAGMENTS_MAX = 64;

function parseArgs(argv) {
  const opts = { port: 0, tls: false, cert: '', key: '', maxRuntimeS: 900 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') opts.port = Number(argv[++i]);
    else if (a === '--tls') opts.tls = true;
    else if (a === '--cert') opts.cert = argv[++i];
    else if (a === '--key') opts.key = argv[++i];
    else if (a === '--max-runtime-s') opts.maxRuntimeS = Number(argv[++i]);
    else if (a === '--help') {
      process.stdout.write('usage: node ws_server.mjs [--port N] [--tls --cert F --key F] ' +
        '[--max-runtime-s S]\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(opts.port) || !Number.isInteger(opts.maxRuntimeS)) {
    throw new Error('--port and --max-runtime-s take integers');
  }
  if (opts.tls && (!opts.cert || !opts.key)) throw new Error('--tls needs --cert and --key');
  return opts;
}

function intParam(url, name, fallback, max) {
  const v = Number(url.searchParams.get(name) ?? fallback);
  return Number.isInteger(v) && v >= 0 ? Math.min(v, max) : fallback;
}

function echo(ws) {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

function fragmented(ws, url) {
  const parts = Math.max(1, intParam(url, 'parts', 3, FRAGMENTS_MAX));
  ws.on('message', (data, isBinary) => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data);
    const size = Math.ceil(buf.length / parts) || 1;
    for (let k = 0; k < parts; k++) {
      const piece = buf.subarray(Math.min(k * size, buf.length), Math.min((k + 1) * size,
                                                                          buf.length));
      ws.send(piece, { binary: isBinary, fin: k === parts - 1 });
    }
  });
}

function pinger(ws, url) {
  const interval = Math.max(10, intParam(url, 'interval_ms', 100, 60000));
  let pings = 0;
  let pongs = 0;
  const timer = setInterval(() => ws.ping(`p${pings++}`), interval);
  ws.on('pong', (data) => {
    if (data.toString() === `p${pongs}`) pongs++;
  });
  ws.on('close', () => clearInterval(timer));
  ws.on('message', (data, isBinary) => {
    if (!isBinary && data.toString() === 'pongs?') {
      ws.send(JSON.stringify({ pings, pongs }));
    } else {
      ws.send(data, { binary: isBinary });
    }
  });
}

function big(ws, url) {
  const n = intParam(url, 'bytes', 1024, BIG_BYTES_MAX);
  const buf = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) buf[i] = 97 + (i % 26);
  ws.send(buf, { binary: false });
  echo(ws);
}

function badAccept(socket) {
  socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n' +
             'Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n');
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const onRequest = (req, res) => {
    res.writeHead(426, { 'Content-Type': 'text/plain' });
    res.end('WebSocket only\n');
  };
  const server = opts.tls
    ? https.createServer({ cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key) },
                         onRequest)
    : http.createServer(onRequest);
  const wss = new WebSocketServer({ noServer: true, maxPayload: MESSAGE_BYTES_MAX });
  const silent = new WebSocketServer({ noServer: true, maxPayload: MESSAGE_BYTES_MAX,
                                       autoPong: false });
  const stalled = new Set();
  const handlers = {
    '/echo': echo,
    '/fragmented': fragmented,
    '/ping': pinger,
    '/close': (ws) => ws.once('message', () => ws.close(4000, 'bye')),
    '/big': big,
    '/no-pong': echo,
  };

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url, 'http://localhost');
    socket.on('error', () => {});
    if (url.pathname === '/stall-handshake') {
      stalled.add(socket);
      socket.on('close', () => stalled.delete(socket));
      return;  // never answered
    }
    if (url.pathname === '/bad-accept') {
      badAccept(socket);
      return;
    }
    const handler = handlers[url.pathname];
    if (!handler) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    const target = url.pathname === '/no-pong' ? silent : wss;
    target.handleUpgrade(req, socket, head, (ws) => {
      ws.on('error', () => {});
      handler(ws, url);
    });
  });

  servePeer('ws_server', server, opts, () => {
    for (const s of [wss, silent]) for (const ws of s.clients) ws.terminate();
    for (const socket of stalled) socket.destroy();
    server.close();
  });
}

runPeer('ws_server', main);
