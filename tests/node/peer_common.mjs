// peer_common.mjs: what every Node peer in tests/node shares: it listens on 127.0.0.1 only,
// prints "READY port=<n>" as its first stdout line, and stops (cleanup, then exit code 0) on
// SIGTERM, SIGINT or after --max-runtime-s seconds (0 = never).
import process from 'node:process';

export const HOST = '127.0.0.1';

// Starts `server` on HOST:port and arms the stop paths; `cleanup` (may be async) runs once
// before the exit.
export function servePeer(name, server, { port, maxRuntimeS }, cleanup) {
  let stopping = false;
  const stop = async (why) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${name}: stopping (${why})\n`);
    try {
      await cleanup();
    } finally {
      process.exit(0);
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  if (maxRuntimeS > 0) setTimeout(() => stop('max runtime reached'), maxRuntimeS * 1000);
  server.listen(port, HOST, () => {
    process.stdout.write(`READY port=${server.address().port}\n`);
  });
}

// Runs main() and turns an error into a message on stderr and exit code 1.
export function runPeer(name, main) {
  Promise.resolve()
    .then(main)
    .catch((error) => {
      process.stderr.write(`${name}: ${error.stack || error}\n`);
      process.exit(1);
    });
}
