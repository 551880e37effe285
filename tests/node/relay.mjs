#!/usr/bin/env node
// relay.mjs: a real Nostr relay written by someone else, for Pylon's integration tests.
// @nostr-relay/core 0.0.40 (CodyTseng's nostr-relay, the engine of nostr-relay-tray) wired to a
// `ws` WebSocketServer as its README shows, with @nostr-relay/validator for incoming messages
// and @nostr-relay/event-repository-sqlite on ':memory:'. Loopback only.
//
// Usage: node relay.mjs [--port N] [--auth] [--log] [--max-runtime-s S] [--wasm-verify]
//                       [--event-cache-ttl-ms MS]
//   --port N               listen on 127.0.0.1:N (default 0 = any free port)
//   --auth                 NIP-42: every connection gets ["AUTH", challenge] at once; EVENT and
//                          REQ are refused until the client sent a valid kind-22242 AUTH event
//                          (its "relay" tag must name host 127.0.0.1). See "Auth" below.
//   --log                  print every received ("<- c<n> ...") and sent ("-> c<n> ...") message
//                          as one line on stderr
//   --max-runtime-s S      exit (code 0) after S seconds (default 900; 0 = never)
//   --wasm-verify          check signatures with nostr-wasm (libsecp256k1 in WASM, about 2.7x
//                          faster here) instead of the core's pure-JS @noble check. The core has
//                          no hook for this: the wrapper replaces EventUtils.isSigValid.
//   --event-cache-ttl-ms MS  the core's per-event-id result cache (default 600000, its own
//                          default). With 0 a duplicate EVENT is answered
//                          ["OK",id,true,"duplicate: the event already exists"].
// First stdout line: "READY port=<n>". SIGTERM/SIGINT: close and exit 0.
// Plain HTTP GET on the port (no upgrade) answers a NIP-11 document when the Accept header asks
// for application/nostr+json, else a short text.
//
// Auth: the core only sends the challenge and restricts DMs (kind 4) to authenticated clients;
// refusing EVENT/REQ before AUTH is done here, in the wrapper, as NIP-42 describes:
// ["OK", id, false, "auth-required: ..."] and ["CLOSED", sub, "auth-required: ..."].
//
// Quirks of @nostr-relay/core 0.0.40 that tests must not depend on (kept as they are, not
// patched, except the filter cache below):
//   1. Live subscriptions ignore tag filters (#e, #p, ...): EventUtils.isMatchingFilter checks
//      only ids, authors, kinds, since, until. A subscriber to {kinds:[6050],"#e":[X]} receives
//      every live 6050. Stored results (before EOSE) are filtered correctly. Filter what you
//      receive.
//   2. REQ results are cached per identical filter for 1 s by default (filterResultCacheTtl);
//      this wrapper sets it to 0 so a REQ always sees the newest events.
//   3. A duplicate EVENT is answered ["OK",id,true,""] without a "duplicate:" prefix while the
//      event-id result cache holds it (10 minutes by default; see --event-cache-ttl-ms).
//   4. A live subscription is registered only after the stored query and EOSE: events accepted
//      in between are not delivered live. Wait for EOSE before counting on live delivery.
//   5. Ephemeral events (20000-29999) are broadcast only, never stored; kind 5 deletes stored
//      events of the same author.
import http from 'node:http';
import process from 'node:process';

import common from '@nostr-relay/common';
import core from '@nostr-relay/core';
import sqlite from '@nostr-relay/event-repository-sqlite';
import validatorPkg from '@nostr-relay/validator';
import { WebSocketServer } from 'ws';

import { HOST, runPeer, servePeer } from './peer_common.mjs';

const { NostrRelay } = core;
const { EventRepositorySqlite } = sqlite;
const { Validator } = validatorPkg;
const { EventUtils, LogLevel, createOutgoingNoticeMessage, createOutgoingOkMessage,
        createOutgoingClosedMessage } = common;

const MESSAGE_BYTES_MAX = 1024 * 1024;

function parseArgs(argv) {
  const opts = { port: 0, auth: false, log: false, maxRuntimeS: 900, wasmVerify: false,
                 eventCacheTtlMs: 600000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) {
        throw new Error(`${a} needs a non-negative integer`);
      }
      return v;
    };
    if (a === '--port') opts.port = value();
    else if (a === '--auth') opts.auth = true;
    else if (a === '--log') opts.log = true;
    else if (a === '--max-runtime-s') opts.maxRuntimeS = value();
    else if (a === '--wasm-verify') opts.wasmVerify = true;
    else if (a === '--event-cache-ttl-ms') opts.eventCacheTtlMs = value();
    else if (a === '--help') {
      process.stdout.write('usage: node relay.mjs [--port N] [--auth] [--log] ' +
        '[--max-runtime-s S] [--wasm-verify] [--event-cache-ttl-ms MS]\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return opts;
}

async function useWasmVerify() {
  const { initNostrWasm } = await import('nostr-wasm');
  const nw = await initNostrWasm();
  EventUtils.isSigValid = (event) => {
    try {
      nw.verifyEvent(event);  // checks id and signature; throws when either is wrong
      return true;
    } catch {
      return false;
    }
  };
}

function nip11(req, res) {
  if ((req.headers.accept || '').includes('application/nostr+json')) {
    res.writeHead(200, { 'Content-Type': 'application/nostr+json',
                         'Access-Control-Allow-Origin': '*' });
    res.end(JSON.stringify({ name: 'pylon-test-relay', description: '@nostr-relay/core 0.0.40',
                             supported_nips: [1, 9, 11, 40, 42], software: '@nostr-relay/core',
                             version: '0.0.40' }));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('pylon test relay: connect with a WebSocket\n');
}

// Refuses EVENT/REQ from unauthenticated clients when --auth is on; true when handled.
function refuseUnauthenticated(relay, ws, message) {
  if (relay.isAuthorized(ws)) return false;
  const reason = 'auth-required: authenticate with NIP-42 first';
  if (message[0] === 'EVENT' && message[1]?.kind !== 22242) {
    ws.send(JSON.stringify(createOutgoingOkMessage(message[1]?.id ?? '', false, reason)));
    return true;
  }
  if (message[0] === 'REQ') {
    ws.send(JSON.stringify(createOutgoingClosedMessage(message[1], reason)));
    return true;
  }
  return false;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.wasmVerify) await useWasmVerify();

  const repository = new EventRepositorySqlite(':memory:');
  await repository.init();
  const relay = new NostrRelay(repository, {
    hostname: opts.auth ? HOST : undefined,  // a hostname turns NIP-42 on in the core
    filterResultCacheTtl: 0,
    eventHandlingResultCacheTtl: opts.eventCacheTtlMs,
    logLevel: LogLevel.ERROR,
  });
  const validator = new Validator();
  const server = http.createServer(nip11);
  const wss = new WebSocketServer({ server, maxPayload: MESSAGE_BYTES_MAX });
  let nextClient = 1;

  wss.on('connection', (ws) => {
    const name = `c${nextClient++}`;
    if (opts.log) {
      const send = ws.send.bind(ws);
      ws.send = (data, ...rest) => {
        process.stderr.write(`-> ${name} ${data}\n`);
        return send(data, ...rest);
      };
      process.stderr.write(`== ${name} connected\n`);
    }
    relay.handleConnection(ws, HOST);
    ws.on('message', async (data) => {
      if (opts.log) process.stderr.write(`<- ${name} ${data}\n`);
      try {
        const message = await validator.validateIncomingMessage(data);
        if (opts.auth && refuseUnauthenticated(relay, ws, message)) return;
        await relay.handleMessage(ws, message);
      } catch (error) {
        ws.send(JSON.stringify(createOutgoingNoticeMessage(error.message)));
      }
    });
    ws.on('close', () => {
      if (opts.log) process.stderr.write(`== ${name} closed\n`);
      relay.handleDisconnect(ws);
    });
    ws.on('error', () => {});
  });

  servePeer('relay', server, opts, async () => {
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.close();
    await relay.destroy();
  });
}

runPeer('relay', main);
