// A small real HTTP proxy in front of a key server (127.0.0.1, random port) that misbehaves on request, for the
// receiver's retry rules: per request it answers an error with a keycast error body (503 log_unavailable, or any
// code), hangs until the client gives up, drops the connection, forwards and then loses the answer (the server acts
// and logs; the client gets a 503), or forwards. It records every request, and how many requests for the same key
// (path and segment or service/period) were in flight at once.
import http from 'node:http';

export type Fault =
  | { readonly kind: 'forward' }
  | {
      readonly kind: 'error';
      readonly status: number;
      readonly code: string;
      readonly message?: string;
      readonly retryAfterMs?: number;
    }
  | { readonly kind: 'hang' }
  | { readonly kind: 'drop' }
  | { readonly kind: 'lose_answer' };

export const FORWARD: Fault = { kind: 'forward' };
export const UNAVAILABLE: Fault = {
  kind: 'error',
  status: 503,
  code: 'log_unavailable',
  message: 'the request log cannot be written; try again',
};

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  /** Path plus what the body asks for: requests for the same key share it. */
  readonly key: string;
  /** 1 for the first request with this key, and so on. */
  readonly attempt: number;
  readonly requestId: string | undefined;
  readonly nonce: string | undefined;
  readonly fault: Fault['kind'];
  readonly arrivedAtMs: number;
  /** When the proxy finished its answer (undefined: hung or dropped). */
  repliedAtMs?: number;
  /** The status the client got, and the keycast error in it, if any. */
  status?: number;
  errorCode?: string;
  retryAfterMs?: number;
}

export interface FaultProxy {
  readonly url: string;
  readonly requests: ProxiedRequest[];
  /** The most requests with the same key in flight at once, per key. */
  readonly maxConcurrent: Map<string, number>;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** The fault for each request; forward when absent. */
  readonly plan?: (r: { method: string; path: string; key: string; attempt: number }) => Fault;
  /** Awaited after the server's answer came and before the client gets it (e.g. to move the sender on). */
  readonly beforeReply?: (r: ProxiedRequest) => Promise<void> | void;
}

function keyOf(path: string, body: unknown): string {
  if (typeof body !== 'object' || body === null) return path;
  const b = body as Record<string, unknown>;
  const what = ['programmeId', 'segment', 'serviceId', 'period']
    .filter((k) => b[k] !== undefined)
    .map((k) => `${k}=${String(b[k])}`);
  return what.length === 0 ? path : `${path}?${what.join('&')}`;
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('end', () => resolve(Buffer.concat(parts)));
    stream.on('error', reject);
  });
}

function forward(
  upstream: URL,
  req: http.IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers, host: upstream.host, connection: 'close' };
    const out = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
      (res) => {
        readAll(res).then(
          (b) => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: b }),
          reject,
        );
      },
    );
    out.on('error', reject);
    out.end(body);
  });
}

export async function startFaultProxy(upstreamUrl: string, o: FaultProxyOptions = {}): Promise<FaultProxy> {
  const upstream = new URL(upstreamUrl);
  const requests: ProxiedRequest[] = [];
  const inFlight = new Map<string, number>();
  const maxConcurrent = new Map<string, number>();
  const attempts = new Map<string, number>();

  const server = http.createServer((req, res) => {
    const arrivedAtMs = performance.now();
    void readAll(req)
      .then(async (body) => {
        const json = parse(body.toString('utf8'));
        const path = (req.url ?? '/').split('?')[0]!;
        const key = keyOf(path, json);
        const attempt = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, attempt);
        const now = (inFlight.get(key) ?? 0) + 1;
        inFlight.set(key, now);
        maxConcurrent.set(key, Math.max(maxConcurrent.get(key) ?? 0, now));
        let counted = true;
        const done = () => {
          if (!counted) return;
          counted = false;
          inFlight.set(key, (inFlight.get(key) ?? 1) - 1);
        };
        // A response that finished, or a connection the client closed (a timeout) or the proxy dropped.
        res.on('close', done);
        const fault = o.plan?.({ method: req.method ?? 'GET', path, key, attempt }) ?? FORWARD;
        const b = json as { requestId?: unknown } | undefined;
        const nonce = req.headers['x-keycast-nonce'];
        const r: ProxiedRequest = {
          method: req.method ?? 'GET',
          path,
          key,
          attempt,
          requestId: typeof b?.requestId === 'string' ? b.requestId : undefined,
          nonce: typeof nonce === 'string' ? nonce : undefined,
          fault: fault.kind,
          arrivedAtMs,
        };
        requests.push(r);
        const reply = async (status: number, headers: http.OutgoingHttpHeaders, answer: Buffer) => {
          r.status = status;
          const e = parse(answer.toString('utf8')) as
            { error?: { code?: string; retryAfterMs?: number } } | undefined;
          if (e?.error?.code !== undefined) r.errorCode = e.error.code;
          if (e?.error?.retryAfterMs !== undefined) r.retryAfterMs = e.error.retryAfterMs;
          await o.beforeReply?.(r);
          res.writeHead(status, { ...headers, 'content-length': answer.length });
          r.repliedAtMs = performance.now(); // no client can have the answer before this
          res.end(answer);
        };
        const errorBody = (code: string, message: string, retryAfterMs?: number) =>
          Buffer.from(
            JSON.stringify({ error: { code, message, ...(retryAfterMs !== undefined && { retryAfterMs }) } }),
          );
        switch (fault.kind) {
          case 'hang':
            return; // until the client gives up and closes the connection
          case 'drop':
            req.socket.destroy();
            return;
          case 'error':
            await reply(
              fault.status,
              { 'content-type': 'application/json; charset=utf-8' },
              errorBody(fault.code, fault.message ?? `${fault.code} (fault proxy)`, fault.retryAfterMs),
            );
            return;
          case 'lose_answer':
            await forward(upstream, req, body);
            await reply(
              503,
              { 'content-type': 'application/json; charset=utf-8' },
              errorBody('log_unavailable', 'the answer was lost on the way (fault proxy)'),
            );
            return;
          case 'forward': {
            const a = await forward(upstream, req, body);
            const headers: http.OutgoingHttpHeaders = {};
            for (const h of ['content-type', 'retry-after']) {
              const v = a.headers[h];
              if (v !== undefined) headers[h] = v;
            }
            await reply(a.status, headers, a.body);
            return;
          }
        }
      })
      .catch(() => {
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('fault proxy: no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    maxConcurrent,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
