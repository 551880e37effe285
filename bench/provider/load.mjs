#!/usr/bin/env node
// load.mjs: the customer side of bench/provider/run.sh. Publishes NIP-90 text-generation
// requests (kind 5050, `p` = the provider) to one relay with a fixed number in flight, and
// measures for each request the time from sending it to the first feedback (kind 7000) and to
// the verified result (kind 6050). Requests are signed before the clock starts (nostr-tools,
// several customer keys so the node's per-key rate limit is not what is measured). Prints one
// JSON object on stdout. Uses tests/node's node_modules (npm ci there first).
//
// Usage: node load.mjs --relay URL --provider HEX [--jobs N] [--concurrency C]
//                      [--customers K] [--timeout-ms T] [--warmup N]
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const require = createRequire(new URL('../../tests/node/package.json', import.meta.url));
// (require.resolve finds the CommonJS builds: their exports may come only as `default`.)
const load = async (name) => {
  const m = await import(pathToFileURL(require.resolve(name)).href);
  return m.default ?? m;
};
const { finalizeEvent, generateSecretKey, verifyEvent } = await load('nostr-tools/pure');
const WebSocket = await load('ws');

function parseArgs(argv) {
  const o = { jobs: 200, concurrency: 16, customers: 50, timeoutMs: 60000, warmup: 10 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--relay') o.relay = v();
    else if (a === '--provider') o.provider = v();
    else if (a === '--jobs') o.jobs = Number(v());
    else if (a === '--concurrency') o.concurrency = Number(v());
    else if (a === '--customers') o.customers = Number(v());
    else if (a === '--timeout-ms') o.timeoutMs = Number(v());
    else if (a === '--warmup') o.warmup = Number(v());
    else throw new Error(`unknown option ${a}`);
  }
  if (!o.relay || !o.provider) throw new Error('--relay and --provider are required');
  return o;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length));
  return Math.round(sorted[i] * 100) / 100;
}

function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99),
           max: percentile(s, 100) };
}

function sign(o, keys, n) {
  const now = Math.floor(Date.now() / 1000);
  return finalizeEvent({ kind: 5050, created_at: now,
                         tags: [['i', `bench prompt ${n}`, 'text'], ['p', o.provider]],
                         content: '' }, keys[n % keys.length]);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const keys = Array.from({ length: o.customers }, () => generateSecretKey());
  const total = o.warmup + o.jobs;
  const events = Array.from({ length: total }, (_, n) => sign(o, keys, n));
  const ws = new WebSocket(o.relay);
  const state = new Map();  // request id -> {sent, feedback, result}
  let gotEose;
  const eose = new Promise((resolve) => { gotEose = resolve; });
  let next = 0;
  let done = 0;
  let failed = 0;
  let finish;
  const finished = new Promise((resolve) => { finish = resolve; });
  const send = () => {
    if (next >= total) return;
    const ev = events[next++];
    state.set(ev.id, { n: next - 1, sent: performance.now(), feedback: 0, result: 0 });
    ws.send(JSON.stringify(['EVENT', ev]));
  };
  let measuredStart = 0;
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m[0] === 'EOSE') { gotEose(); return; }
    if (m[0] !== 'EVENT') return;
    const ev = m[2];
    const e = ev.tags.find((t) => t[0] === 'e');
    const st = e && state.get(e[1]);
    if (!st || st.result) return;  // live subscriptions ignore #e: filter here
    const now = performance.now();
    if (ev.kind === 7000) {
      if (!st.feedback) st.feedback = now;
      const status = ev.tags.find((t) => t[0] === 'status');
      if (status && status[1] === 'error') {
        st.result = now;
        failed++;
      } else return;
    } else if (ev.kind === 6050) {
      if (!verifyEvent(ev)) failed++;
      st.result = now;
      if (!st.feedback) st.feedback = now;  // no feedback before the result (a delayed processing)
    } else return;
    done++;
    if (done === o.warmup) measuredStart = performance.now();
    if (done === total) finish();
    else send();
  });
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  ws.send(JSON.stringify(['REQ', 'bench', { kinds: [6050, 7000], since: Math.floor(Date.now() / 1000) }]));
  await eose;
  if (o.warmup === 0) measuredStart = performance.now();
  for (let i = 0; i < Math.min(o.concurrency, total); i++) send();
  const timer = setTimeout(() => finish(), o.timeoutMs);
  await finished;
  clearTimeout(timer);
  const elapsed = performance.now() - measuredStart;
  const measured = [...state.values()].filter((s) => s.n >= o.warmup && s.result);
  ws.close();
  const out = {
    jobs: measured.length, wanted: o.jobs, failed, concurrency: o.concurrency,
    elapsed_ms: Math.round(elapsed),
    jobs_per_s: Math.round((measured.length / (elapsed / 1000)) * 10) / 10,
    first_feedback_ms: summary(measured.map((s) => s.feedback - s.sent)),
    result_ms: summary(measured.map((s) => s.result - s.sent)),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(done === total ? 0 : 1);
}

main().catch((e) => { process.stderr.write(`${e.stack}\n`); process.exit(2); });
