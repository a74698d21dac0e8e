// Debian's libsrtp2 through bench/libsrtp/srtp-bench.c, compiled here with gcc when gcc and the libsrtp2 headers
// (libsrtp2-dev) are present. Each cell runs the harness once; it times itself like measure.js does.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('../libsrtp/srtp-bench.c', import.meta.url));

/** Compiles the harness; returns { binary } or { reason } (why libsrtp2 is not measured). */
export function buildLibsrtpHarness() {
  if (!existsSync('/usr/include/srtp2/srtp.h'))
    return { reason: 'no libsrtp2 headers (apt-get install libsrtp2-dev)' };
  const binary = join(mkdtempSync(join(tmpdir(), 'keycast-bench-')), 'srtp-bench');
  const r = spawnSync('gcc', ['-O2', SOURCE, '-lsrtp2', '-o', binary], { encoding: 'utf8' });
  if (r.error) return { reason: `gcc not available (${r.error.message})` };
  if (r.status !== 0) return { reason: `gcc failed: ${r.stderr.trim().split('\n')[0]}` };
  const version = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'libsrtp2-1'], { encoding: 'utf8' });
  return { binary, version: version.status === 0 ? version.stdout : 'unknown version' };
}

export function libsrtpRate(binary, suite, payloadBytes, op, { samples, sampleMs }) {
  const r = spawnSync(binary, [suite, String(payloadBytes), op, String(samples), String(sampleMs)], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`libsrtp harness (${suite} ${payloadBytes} ${op}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
