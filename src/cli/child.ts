// Child processes of the demo: each part runs as `keycast <command>` in its own process and reports on
// stdout as one JSON object per line. Logs (pino) go to stderr and into a log file.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type ChildEvent = { readonly event: string } & Record<string, unknown>;

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  /** Resolves with the first event of that name; rejects if the process exits first. */
  waitFor(event: string, timeoutMs?: number): Promise<ChildEvent>;
  readonly exited: Promise<number | null>;
  readonly last: Map<string, ChildEvent>;
}

const CLI_MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

export function spawnKeycast(
  name: string,
  args: readonly string[],
  logPath: string,
  onEvent?: (e: ChildEvent) => void,
): Child {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logPath);
  child.stderr.pipe(log);
  const last = new Map<string, ChildEvent>();
  const waiters = new Map<string, ((e: ChildEvent) => void)[]>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    let e: ChildEvent;
    try {
      e = JSON.parse(line) as ChildEvent;
    } catch {
      log.write(`[stdout] ${line}\n`);
      return;
    }
    if (typeof e.event !== 'string') return;
    last.set(e.event, e);
    onEvent?.(e);
    for (const w of waiters.get(e.event) ?? []) w(e);
    waiters.delete(e.event);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    name,
    process: child,
    exited,
    last,
    // A bound on start-up, not a speed check: nine receivers starting at once on a loaded 2-CPU host have
    // taken over 15 s to load their modules and bind.
    waitFor(event, timeoutMs = 60_000) {
      const seen = last.get(event);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${name}: no '${event}' within ${timeoutMs} ms (log: ${logPath})`)),
          timeoutMs,
        );
        void exited.then((code) => {
          clearTimeout(timer);
          reject(new Error(`${name} exited with ${code} before '${event}' (log: ${logPath})`));
        });
        const list = waiters.get(event) ?? [];
        list.push((e) => {
          clearTimeout(timer);
          resolve(e);
        });
        waiters.set(event, list);
      });
    },
  };
}

/** Asks a child to stop (SIGTERM) and waits; SIGKILL after `graceMs`. */
export async function stopChild(c: Child, graceMs = 5000): Promise<number | null> {
  if (c.process.exitCode !== null || c.process.signalCode !== null) return c.process.exitCode;
  c.process.kill('SIGTERM');
  const timer = setTimeout(() => c.process.kill('SIGKILL'), graceMs);
  const code = await c.exited;
  clearTimeout(timer);
  return code;
}
