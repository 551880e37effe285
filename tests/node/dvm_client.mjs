#!/usr/bin/env node
// dvm_client.mjs: a NIP-90 customer written with nostr-tools and ws, for Pylon's end-to-end
// tests (an independent client: it signs, encrypts and verifies with nostr-tools, not with
// Pylon's code). It builds job requests, subscribes to their feedback and results on every relay
// given (and waits for EOSE, so that nothing is missed), publishes the requests, and prints one
// JSON line per thing that happened on stdout, then {"event":"done"} and exit code 0.
//
// Usage: node dvm_client.mjs --relay URL [--relay URL]... --secret HEX [options]
//   --prompt TEXT            the text input (default "Say hello")
//   --prompt-bytes N         the text input is N bytes of "x" (prompts longer than argv allows)
//   --kind N                 request kind (default 5050)
//   --model M                param model
//   --param K=V              more params (repeatable)
//   --bid MSATS              bid tag
//   --provider HEX           p tag (the provider asked for)
//   --encrypt nip44|nip04    move i/param tags into encrypted content (p + encrypted in clear)
//   --created-at-offset S    created_at = now + S (negative: in the past)
//   --tamper sig|id          break the signature or the id after signing
//   --relays-tag URL         a ["relays", ...] entry (repeatable)
//   --count N                publish N distinct requests (default 1)
//   --cancel-after STATUS    publish a kind-5 deletion once feedback STATUS arrives
//   --cancel-without-k       that deletion has only its `e` tag (NIP-09 makes `k` optional)
//   --cancel-delay-ms T      publish it T ms after that feedback (default 0)
//   --cancel-names-all       one deletion naming every request, once the last one's STATUS came
//   --request-spacing-ms T   publish request n at n * T ms (default 0: all at once)
//   --wait none|result       stop after publishing, or wait for every request's result or error
//   --timeout-ms T           give up waiting after T ms (default 15000)
//   --auth                   answer NIP-42 AUTH challenges (and wait for the relay's OK)
// Output lines ({"event": ...}):
//   published {id, relay, ok, message}     one per request and relay
//   feedback  {id, request, status, extra, content, pubkey}   (decrypted when encrypted)
//   (a result also has {valid, tags, cipher}: cipher = nip04|nip44 when it was encrypted)
//   result    {id, request, content, pubkey, kind, valid, tags}   (valid: verifyEvent)
//   deletion  {id, request}
//   timeout   {pending: [request ids]}
import process from 'node:process';

import { finalizeEvent, verifyEvent, getPublicKey } from 'nostr-tools/pure';
import * as nip04 from 'nostr-tools/nip04';
import * as nip44 from 'nostr-tools/nip44';
import { hexToBytes } from 'nostr-tools/utils';
import WebSocket from 'ws';

import { runPeer } from './peer_common.mjs';

function parseArgs(argv) {
  const o = { relays: [], params: [], relaysTag: [], prompt: 'Say hello', kind: 5050, count: 1,
              wait: 'result', timeoutMs: 15000, createdAtOffset: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--relay') o.relays.push(v());
    else if (a === '--secret') o.secret = v();
    else if (a === '--prompt') o.prompt = v();
    else if (a === '--prompt-bytes') o.prompt = 'x'.repeat(Number(v()));
    else if (a === '--kind') o.kind = Number(v());
    else if (a === '--model') o.model = v();
    else if (a === '--param') o.params.push(v());
    else if (a === '--bid') o.bid = v();
    else if (a === '--provider') o.provider = v();
    else if (a === '--encrypt') o.encrypt = v();
    else if (a === '--created-at-offset') o.createdAtOffset = Number(v());
    else if (a === '--tamper') o.tamper = v();
    else if (a === '--relays-tag') o.relaysTag.push(v());
    else if (a === '--count') o.count = Number(v());
    else if (a === '--cancel-after') o.cancelAfter = v();
    else if (a === '--cancel-without-k') o.cancelWithoutK = true;
    else if (a === '--cancel-delay-ms') o.cancelDelayMs = Number(v());
    else if (a === '--cancel-names-all') o.cancelNamesAll = true;
    else if (a === '--request-spacing-ms') o.requestSpacingMs = Number(v());
    else if (a === '--wait') o.wait = v();
    else if (a === '--timeout-ms') o.timeoutMs = Number(v());
    else if (a === '--auth') o.auth = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (o.relays.length === 0 || !o.secret) throw new Error('--relay and --secret are required');
  return o;
}

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

function conversationKey(o) {
  return nip44.v2.utils.getConversationKey(hexToBytes(o.secret), o.provider);
}

function encryptFor(o, text) {
  return o.encrypt === 'nip04' ? nip04.encrypt(o.secret, o.provider, text)
                               : nip44.v2.encrypt(text, conversationKey(o));
}

function decryptFrom(o, payload) {
  return payload.includes('?iv=') ? nip04.decrypt(o.secret, o.provider, payload)
                                  : nip44.v2.decrypt(payload, conversationKey(o));
}

function buildRequest(o, n) {
  const inner = [['i', o.count > 1 ? `${o.prompt} #${n}` : o.prompt, 'text']];
  if (o.model) inner.push(['param', 'model', o.model]);
  for (const p of o.params) {
    const eq = p.indexOf('=');
    inner.push(['param', p.slice(0, eq), p.slice(eq + 1)]);
  }
  let tags = [];
  let content = '';
  if (o.encrypt) {
    if (!o.provider) throw new Error('--encrypt needs --provider');
    content = encryptFor(o, JSON.stringify(inner));
    tags.push(['encrypted']);
  } else {
    tags = inner;
  }
  if (o.bid) tags.push(['bid', o.bid]);
  if (o.provider) tags.push(['p', o.provider]);
  if (o.relaysTag.length) tags.push(['relays', ...o.relaysTag]);
  tags.push(['alt', 'NIP-90 text generation request (test)']);
  const created = Math.floor(Date.now() / 1000) + o.createdAtOffset - n;  // distinct ids
  const ev = finalizeEvent({ kind: o.kind, created_at: created, tags, content },
                           hexToBytes(o.secret));
  if (o.tamper === 'sig') ev.sig = (ev.sig[0] === 'a' ? 'b' : 'a') + ev.sig.slice(1);
  if (o.tamper === 'id') ev.content += ' (changed after signing)';
  return ev;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const me = getPublicKey(hexToBytes(o.secret));
  const requests = [];
  for (let n = 0; n < o.count; n++) requests.push(buildRequest(o, n));
  const ids = requests.map((r) => r.id);
  const pending = new Set(ids);
  const seen = new Set();
  const sockets = [];
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const cancelled = new Set();

  const onEvent = (ws, ev) => {
    if (seen.has(ev.id)) return;
    seen.add(ev.id);
    const etag = ev.tags.find((t) => t[0] === 'e');
    const request = etag ? etag[1] : '';
    if (!pending.has(request) && !ids.includes(request)) return;  // live subs ignore #e
    if (ev.kind === 7000) {
      let tags = ev.tags;
      let content = ev.content;
      if (tags.some((t) => t[0] === 'encrypted')) {
        const inner = JSON.parse(decryptFrom(o, ev.content));
        tags = tags.concat(inner);
        content = (inner.find((t) => t[0] === 'content') || [])[1] || '';
      }
      const status = tags.find((t) => t[0] === 'status') || [];
      out({ event: 'feedback', id: ev.id, request, status: status[1], extra: status[2] || '',
            content, pubkey: ev.pubkey });
      if (status[1] === 'error') pending.delete(request);
      if (o.cancelAfter && status[1] === o.cancelAfter && !cancelled.has(request) &&
          (!o.cancelNamesAll || request === ids[ids.length - 1])) {
        cancelled.add(request);
        const cancel = () => {
          const tags = (o.cancelNamesAll ? ids : [request]).map((id) => ['e', id]);
          if (!o.cancelWithoutK) tags.push(['k', String(o.kind)]);
          const del = finalizeEvent({ kind: 5, created_at: Math.floor(Date.now() / 1000), tags,
                                      content: 'cancel' }, hexToBytes(o.secret));
          for (const s of sockets) s.send(JSON.stringify(['EVENT', del]));
          out({ event: 'deletion', id: del.id, request });
        };
        if (o.cancelDelayMs > 0) setTimeout(cancel, o.cancelDelayMs);
        else cancel();
      }
    } else if (ev.kind === o.kind + 1000) {
      const valid = verifyEvent({ ...ev });
      let content = ev.content;
      let cipher = '';
      if (ev.tags.some((t) => t[0] === 'encrypted')) {
        cipher = ev.content.includes('?iv=') ? 'nip04' : 'nip44';
        content = decryptFrom(o, ev.content);
      }
      out({ event: 'result', id: ev.id, request, content, pubkey: ev.pubkey, kind: ev.kind,
            valid, tags: ev.tags, cipher });
      pending.delete(request);
    }
    if (o.wait === 'result' && pending.size === 0) finish();
  };

  for (const url of o.relays) {
    // The message handler goes on before 'open': a relay's first frame (AUTH) may arrive in the
    // same read as the upgrade response and be emitted before an awaited 'open' resumes us.
    const ws = new WebSocket(url);
    sockets.push(ws);
    let authed;
    const authOk = new Promise((resolve) => { authed = resolve; });
    let authId = '';
    let gotEose;
    const eose = new Promise((resolve) => { gotEose = resolve; });
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m[0] === 'AUTH' && o.auth) {
        const ev = finalizeEvent({ kind: 22242, created_at: Math.floor(Date.now() / 1000),
                                   tags: [['relay', url], ['challenge', m[1]]], content: '' },
                                 hexToBytes(o.secret));
        authId = ev.id;
        ws.send(JSON.stringify(['AUTH', ev]));
      } else if (m[0] === 'OK' && m[1] === authId) authed();
      else if (m[0] === 'EOSE') gotEose();
      else if (m[0] === 'EVENT') onEvent(ws, m[2]);
      else if (m[0] === 'OK') out({ event: 'published', id: m[1], relay: url, ok: m[2],
                                    message: m[3] || '' });
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    if (o.auth) await authOk;
    ws.send(JSON.stringify(['REQ', 'dvm-client', { kinds: [o.kind + 1000, 7000], '#e': ids }]));
    await eose;
  }
  void me;
  for (const [n, r] of requests.entries()) {
    if (n > 0 && o.requestSpacingMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, o.requestSpacingMs));
    }
    for (const ws of sockets) ws.send(JSON.stringify(['EVENT', r]));
  }
  if (o.wait === 'none') {
    await new Promise((resolve) => setTimeout(resolve, 300));  // the OKs
    finish();
  }
  const timer = setTimeout(() => {
    out({ event: 'timeout', pending: [...pending] });
    finish();
  }, o.timeoutMs);
  await finished;
  clearTimeout(timer);
  for (const ws of sockets) ws.close();
  out({ event: 'done' });
  process.exit(0);
}

runPeer('dvm_client', main);
