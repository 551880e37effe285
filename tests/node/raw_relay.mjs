#!/usr/bin/env node
// raw_relay.mjs: a deliberately naive "relay" for Pylon's hostile-input tests. Unlike relay.mjs
// (a real relay, which refuses invalid events), it checks nothing: every EVENT it receives is
// answered ["OK", id, true, ""] (or refused, see --refuse-first) and forwarded as is to every
// open subscription of every connection, whatever the filters say. So a test can make a node
// receive events with bad signatures, wrong ids or any created_at. REQ is answered with EOSE at
// once (nothing is stored, unless --store-jobs); CLOSE ends a subscription. Loopback only.
//
// Usage: node raw_relay.mjs [--port N] [--max-runtime-s S] [--refuse-first K --refuse-with TEXT]
//   --refuse-first K     the first K EVENTs whose author is --refuse-author (default: any) are
//                        answered ["OK", id, false, TEXT] and not forwarded
//   --refuse-with TEXT   the OK message for them (default "rate-limited: slow down")
//   --refuse-author HEX  only events of this pubkey count toward K (and toward --silent-first)
//   --silent-first K     the first K EVENTs whose author is --refuse-author (default: any) are
//                        forwarded but never answered with OK (a relay that stopped answering)
//   --store-jobs         keep job requests (kinds 5000-5999, at most 10,000) and send a REQ
//                        those of its first filter's kinds with created_at >= its since first
//   --ignore-close       CLOSE is ignored: the subscription keeps receiving (as the requests a
//                        relay already sent when the node's CLOSE arrives: held or left by a
//                        paused node)
//   --max-payload-bytes N  largest message accepted from a client (default 1 MiB)
//   --auth-flood N       send N NIP-42 challenges ["AUTH","ch<i>"] to each connection at once
//   --notice-flood N     send N ["NOTICE","n<i>"] to each connection at once
//   --push-sub SUBID     on each new connection, send every stored job request (--store-jobs) as
//                        ["EVENT", SUBID, ev] at once, without any REQ (a hostile relay pushing
//                        events under a subscription id it guessed)
//   --match-filters      behave like a relay for subscriptions: an EVENT goes only to the
//                        subscriptions whose filters match it (nostr-tools' matchFilters), and
//                        every event (at most 10,000) is kept and sent to a later REQ whose
//                        filters match (kind-5 deletions included, as NIP-09 asks of relays)
//   --log                print each message received on stderr
// First stdout line: "READY port=<n>". A plain GET answers {"events":N,"refused":M,"silent":S,
// "auths":A} (A: AUTH messages received; each is answered ["OK", id, true, ""]).
import http from 'node:http';
import process from 'node:process';

import { matchFilters } from 'nostr-tools/filter';
import { WebSocketServer } from 'ws';

import { runPeer, servePeer } from './peer_common.mjs';

function parseArgs(argv) {
  const o = { port: 0, maxRuntimeS: 900, refuseFirst: 0, refuseWith: 'rate-limited: slow down',
              refuseAuthor: '', silentFirst: 0, storeJobs: false, ignoreClose: false,
              log: false, maxPayloadBytes: 1024 * 1024, authFlood: 0,
              noticeFlood: 0, pushSub: '', matchFilters: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--port') o.port = Number(argv[++i]);
    else if (a === '--max-runtime-s') o.maxRuntimeS = Number(argv[++i]);
    else if (a === '--refuse-first') o.refuseFirst = Number(argv[++i]);
    else if (a === '--refuse-with') o.refuseWith = argv[++i];
    else if (a === '--refuse-author') o.refuseAuthor = argv[++i];
    else if (a === '--silent-first') o.silentFirst = Number(argv[++i]);
    else if (a === '--store-jobs') o.storeJobs = true;
    else if (a === '--ignore-close') o.ignoreClose = true;
    else if (a === '--max-payload-bytes') o.maxPayloadBytes = Number(argv[++i]);
    else if (a === '--auth-flood') o.authFlood = Number(argv[++i]);
    else if (a === '--notice-flood') o.noticeFlood = Number(argv[++i]);
    else if (a === '--push-sub') o.pushSub = argv[++i];
    else if (a === '--match-filters') o.matchFilters = true;
    else if (a === '--log') o.log = true;
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const counts = { events: 0, refused: 0, silent: 0, auths: 0 };
  const server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(counts));
  });
  const wss = new WebSocketServer({ server, maxPayload: o.maxPayloadBytes });
  const subs = new Map();  // ws -> Map(subid -> filters)
  const stored = [];  // job requests, --store-jobs
  const storedMax = 10000;
  wss.on('connection', (ws) => {
    subs.set(ws, new Map());
    ws.on('close', () => subs.delete(ws));
    for (let i = 0; i < o.authFlood; i++) ws.send(JSON.stringify(['AUTH', `ch${i}`]));
    for (let i = 0; i < o.noticeFlood; i++) ws.send(JSON.stringify(['NOTICE', `n${i}`]));
    if (o.pushSub) {
      for (const ev of stored) ws.send(JSON.stringify(['EVENT', o.pushSub, ev]));
    }
    ws.on('message', (data) => {
      let m;
      try {
        m = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (o.log) process.stderr.write(`<- ${data.toString().slice(0, 300)}\n`);
      if (m[0] === 'AUTH') {
        counts.auths++;
        if (m[1] && typeof m[1] === 'object') ws.send(JSON.stringify(['OK', m[1].id, true, '']));
      } else if (m[0] === 'REQ') {
        const filters = m.slice(2).filter((x) => x && typeof x === 'object');
        subs.get(ws).set(m[1], filters);
        const f = filters[0] || {};
        for (const ev of stored) {
          const kindOk = !Array.isArray(f.kinds) || f.kinds.includes(ev.kind);
          const match = o.matchFilters ? matchFilters(filters, ev)
            : kindOk && ev.created_at >= (f.since || 0);
          if (match) ws.send(JSON.stringify(['EVENT', m[1], ev]));
        }
        ws.send(JSON.stringify(['EOSE', m[1]]));
      } else if (m[0] === 'CLOSE' && !o.ignoreClose) {
        subs.get(ws).delete(m[1]);
      } else if (m[0] === 'EVENT' && m[1] && typeof m[1] === 'object') {
        const ev = m[1];
        const counted = !o.refuseAuthor || ev.pubkey === o.refuseAuthor;
        if (counted && counts.refused < o.refuseFirst) {
          counts.refused++;
          ws.send(JSON.stringify(['OK', ev.id, false, o.refuseWith]));
          return;
        }
        counts.events++;
        const keep = o.matchFilters || (o.storeJobs && ev.kind >= 5000 && ev.kind < 6000);
        if (keep && stored.length < storedMax) {
          stored.push(ev);
        }
        if (counted && counts.silent < o.silentFirst) {
          counts.silent++;
        } else {
          ws.send(JSON.stringify(['OK', ev.id, true, '']));
        }
        for (const [peer, ids] of subs) {
          for (const [sub, filters] of ids) {
            if (!o.matchFilters || matchFilters(filters, ev)) {
              peer.send(JSON.stringify(['EVENT', sub, ev]));
            }
          }
        }
      }
    });
  });
  servePeer('raw_relay', server, o, async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => server.close(resolve));
  });
}

runPeer('raw_relay', main);
