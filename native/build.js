// Builds native/build/keycast_srtp.node, keycast's optional SRTP crypto addon, at `npm install` / `npm ci`.
// Plain gcc against the headers of the running node (its include/node: node_api.h and the OpenSSL it embeds), no
// node-gyp: node-gyp would download headers. The addon's OpenSSL symbols resolve against the node binary at load.
// Never fails the install: without gcc or headers it says so and keycast runs its pure-TypeScript crypto.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'build', 'keycast_srtp.node');

function includeDir() {
  const candidates = [
    process.env.KEYCAST_NODE_INCLUDE,
    resolve(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  return candidates.find(
    (d) => d && existsSync(join(d, 'node_api.h')) && existsSync(join(d, 'openssl', 'evp.h')),
  );
}

function skip(why) {
  console.warn(`keycast: native SRTP addon not built (${why}); the pure-TypeScript crypto will be used`);
  process.exit(0);
}

if (process.env.KEYCAST_NATIVE === '0') skip('KEYCAST_NATIVE=0');
if (process.platform !== 'linux') skip(`platform ${process.platform}: only the Linux build is scripted`);
const include = includeDir();
if (include === undefined) skip('no node headers with OpenSSL (include/node) next to this node');
const cc = process.env.CC ?? 'gcc';
mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.${process.pid}.tmp`;
const args = [
  '-O2',
  '-shared',
  '-fPIC',
  '-fvisibility=hidden',
  '-Wall',
  '-DNODE_GYP_MODULE_NAME=keycast_srtp',
  '-DNAPI_VERSION=8',
  `-I${include}`,
  join(here, 'keycast_srtp.c'),
  '-o',
  tmp,
];
const r = spawnSync(cc, args, { encoding: 'utf8' });
if (r.error) skip(`${cc}: ${r.error.message}`);
if (r.status !== 0) skip(`${cc} failed:\n${r.stderr}`);
renameSync(tmp, out);
console.log(`keycast: built ${out}`);
