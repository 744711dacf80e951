// A TCP forwarder between a client and the gateway that records every byte the gateway sends
// to the client (and, separately, what the client sends), per connection. Masking tests
// search the recording for raw secret values: whatever reaches a real client's socket is
// what the client could have read, whether or not its driver decoded or showed it.
//
//   const tap = await startByteTap({ host: gw.host, port: gw.port });
//   // point any client at tap.host / tap.port
//   const seen = tap.serverBytes();                 // every byte of every connection so far
//   const hits = findSecrets(seen, needles);        // which needles occur, and where
//   tap.reset(); await tap.close();

import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TapConnection {
  id: number;
  /** bytes the gateway sent to the client, in order */
  fromServer: Buffer[];
  /** bytes the client sent to the gateway, in order */
  fromClient: Buffer[];
  /** both sides have closed */
  closed: Promise<void>;
}

export interface ByteTap {
  host: string;
  port: number;
  connections: TapConnection[];
  /** every byte the gateway sent to clients on connections opened since the last reset */
  serverBytes(): Buffer;
  /** total bytes relayed from the gateway since the last reset (cheap; recording may be off) */
  serverByteCount(): number;
  /** forgets the recorded connections (open ones keep recording into their own entry) */
  reset(): void;
  /** waits until every recorded connection has closed (or `timeoutMs` passed) */
  settled(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface TapOptions {
  /** keep the bytes (default true); false only counts them, for streams of millions of rows */
  record?: boolean;
}

export async function startByteTap(target: { host: string; port: number }, options: TapOptions = {}): Promise<ByteTap> {
  const record = options.record ?? true;
  let connections: TapConnection[] = [];
  let count = 0;
  let next = 1;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    client.setNoDelay(true);
    const upstream = connect({ host: target.host, port: target.port });
    upstream.setNoDelay(true);
    sockets.add(client);
    sockets.add(upstream);
    let resolveClosed!: () => void;
    const conn: TapConnection = { id: next++, fromServer: [], fromClient: [], closed: new Promise((r) => (resolveClosed = r)) };
    connections.push(conn);
    let open = 2;
    const done = (s: Socket) => {
      sockets.delete(s);
      if (--open === 0) resolveClosed();
    };
    // Backpressure both ways: a paused reader stops its writer, as a direct connection would.
    upstream.on('data', (chunk: Buffer) => {
      count += chunk.length;
      if (record) conn.fromServer.push(Buffer.from(chunk));
      if (!client.write(chunk)) upstream.pause();
    });
    client.on('drain', () => upstream.resume());
    client.on('data', (chunk: Buffer) => {
      if (record) conn.fromClient.push(Buffer.from(chunk));
      if (!upstream.write(chunk)) client.pause();
    });
    upstream.on('drain', () => client.resume());
    upstream.on('end', () => client.end());
    client.on('end', () => upstream.end());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => {
      client.destroy();
      done(upstream);
    });
    client.on('close', () => {
      upstream.destroy();
      done(client);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('the byte tap has no TCP address');
  return {
    host: '127.0.0.1',
    port: addr.port,
    get connections() {
      return connections;
    },
    serverBytes: () => Buffer.concat(connections.flatMap((c) => c.fromServer)),
    serverByteCount: () => count,
    reset() {
      connections = [];
      count = 0;
    },
    async settled(timeoutMs = 5000) {
      const all = Promise.all(connections.map((c) => c.closed));
      await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// What to look for

/** A byte pattern that must not occur, with a label saying which secret and encoding it is. */
export interface Needle {
  label: string;
  bytes: Buffer;
}

/** The UTF-8 text of a secret, and derived spellings a query could produce without masking. */
export function textNeedles(secret: string, options: { variants?: boolean } = {}): Needle[] {
  const out: Needle[] = [{ label: `${secret} (text)`, bytes: Buffer.from(secret, 'utf8') }];
  if (options.variants !== false) {
    const v = (label: string, s: string) => {
      if (s.length >= 4 && s !== secret) out.push({ label: `${secret} (${label})`, bytes: Buffer.from(s, 'utf8') });
    };
    v('upper case', secret.toUpperCase());
    v('reversed', [...secret].reverse().join(''));
    const alnum = secret.replace(/[^0-9A-Za-z]/g, '');
    if (alnum.length >= 6) v('alphanumerics only', alnum);
    v('hex', Buffer.from(secret, 'utf8').toString('hex'));
    v('base64', Buffer.from(secret, 'utf8').toString('base64').replace(/=+$/, ''));
  }
  return out;
}

/** The text of an integer secret and its int4, int8 and numeric binary encodings. */
export function integerNeedles(value: bigint | number): Needle[] {
  const v = BigInt(value);
  const out: Needle[] = [{ label: `${v} (text)`, bytes: Buffer.from(String(v)) }];
  if (v >= -(2n ** 31n) && v < 2n ** 31n) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(Number(v));
    out.push({ label: `${v} (int4 binary)`, bytes: b });
  }
  const b8 = Buffer.alloc(8);
  b8.writeBigInt64BE(v);
  out.push({ label: `${v} (int8 binary)`, bytes: b8 });
  out.push({ label: `${v} (numeric binary digits)`, bytes: numericDigits(v) });
  return out;
}

/** The base-10000 digit words of a non-negative integer as a binary numeric carries them (no header). */
function numericDigits(v: bigint): Buffer {
  let x = v < 0n ? -v : v;
  const digits: number[] = [];
  while (x > 0n) {
    digits.unshift(Number(x % 10000n));
    x /= 10000n;
  }
  const b = Buffer.alloc(2 * digits.length);
  digits.forEach((d, i) => b.writeInt16BE(d, 2 * i));
  return b;
}

export interface Hit {
  label: string;
  offset: number;
  /** a few bytes around the hit, printable */
  context: string;
}

/** Every needle found in `haystack` (first occurrence of each). */
export function findSecrets(haystack: Buffer, needles: readonly Needle[]): Hit[] {
  const hits: Hit[] = [];
  for (const n of needles) {
    const at = haystack.indexOf(n.bytes);
    if (at < 0) continue;
    const ctx = haystack.subarray(Math.max(0, at - 24), Math.min(haystack.length, at + n.bytes.length + 24));
    hits.push({ label: n.label, offset: at, context: ctx.toString('latin1').replace(/[^\x20-\x7e]/g, '.') });
  }
  return hits;
}
