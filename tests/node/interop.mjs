// interop.mjs: an independent Nostr implementation (nostr-tools) answering Pylon's proto/ interop
// test. Input: one JSON request per line, from the file named by the first argument or else from
// stdin; output: one JSON answer per line on stdout, in order, then exit code 0. A request that
// fails answers {"error": "..."} and processing continues. Requests ({"op": ...}):
//   verify      {event}                          -> {ok, id}          verifyEvent + getEventHash
//   sign        {secret, template}               -> {event}           finalizeEvent
//   nip06       {mnemonic, passphrase, account}  -> {secret, pubkey}  nip06.accountFromSeedWords
//   nip44_encrypt {secret, pubkey, plaintext}    -> {payload}
//   nip44_decrypt {secret, pubkey, payload}      -> {plaintext}
//   nip04_encrypt {secret, pubkey, plaintext}    -> {payload}
//   nip04_decrypt {secret, pubkey, payload}      -> {plaintext}
//   npub        {pubkey}                         -> {npub}
//   decode      {bech32}                         -> {type, data}
import fs from 'node:fs';
import process from 'node:process';
import readline from 'node:readline';

import { finalizeEvent, verifyEvent, getEventHash } from 'nostr-tools/pure';
import * as nip04 from 'nostr-tools/nip04';
import * as nip06 from 'nostr-tools/nip06';
import * as nip19 from 'nostr-tools/nip19';
import * as nip44 from 'nostr-tools/nip44';
import { bytesToHex, hexToBytes } from 'nostr-tools/utils';

const handlers = {
  verify: (r) => ({ ok: verifyEvent(r.event), id: getEventHash(r.event) }),
  sign: (r) => ({ event: finalizeEvent(r.template, hexToBytes(r.secret)) }),
  nip06: (r) => {
    const a = nip06.accountFromSeedWords(r.mnemonic, r.passphrase || '', r.account || 0);
    return { secret: bytesToHex(a.privateKey), pubkey: a.publicKey };
  },
  nip44_encrypt: (r) => {
    const key = nip44.v2.utils.getConversationKey(hexToBytes(r.secret), r.pubkey);
    return { payload: nip44.v2.encrypt(r.plaintext, key) };
  },
  nip44_decrypt: (r) => {
    const key = nip44.v2.utils.getConversationKey(hexToBytes(r.secret), r.pubkey);
    return { plaintext: nip44.v2.decrypt(r.payload, key) };
  },
  nip04_encrypt: (r) => ({ payload: nip04.encrypt(r.secret, r.pubkey, r.plaintext) }),
  nip04_decrypt: (r) => ({ plaintext: nip04.decrypt(r.secret, r.pubkey, r.payload) }),
  npub: (r) => ({ npub: nip19.npubEncode(r.pubkey) }),
  decode: (r) => {
    const d = nip19.decode(r.bech32);
    const data = d.data instanceof Uint8Array ? bytesToHex(d.data) : d.data;
    return { type: d.type, data };
  },
};

function answer(line) {
  try {
    const request = JSON.parse(line);
    const handler = handlers[request.op];
    if (!handler) return { error: `unknown op ${request.op}` };
    return handler(request);
  } catch (error) {
    return { error: String(error && error.message ? error.message : error) };
  }
}

async function main() {
  const input = process.argv[2] ? fs.createReadStream(process.argv[2]) : process.stdin;
  const lines = readline.createInterface({ input, crlfDelay: Infinity });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    process.stdout.write(JSON.stringify(answer(line)) + '\n');
  }
}

main().catch((error) => {
  process.stderr.write(`interop: ${error.stack || error}\n`);
  process.exit(1);
});
