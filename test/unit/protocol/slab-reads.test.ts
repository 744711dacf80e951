// Reading a real socket into shared slabs: every byte arrives once and in order, chunks kept
// from early reads are never written over by later reads (of this socket or another), and the
// socket behaves as a socket: pause, resume, unshift, end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { SlabReads } from '../../../runtime/postgres/slab-reads.ts';

async function serve(onConnection: (c: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

function slabSocket(port: number): Socket & { reads: SlabReads } {
  const reads = new SlabReads(() => s);
  const s: Socket = connect({ port, host: '127.0.0.1', onread: reads.onread });
  return Object.assign(s, { reads });
}

test('two sockets read 8 MiB each, interleaved: the kept chunks hold exactly what was sent', async () => {
  const payloads = [randomBytes(8 << 20), randomBytes(8 << 20)];
  let next = 0;
  const { server, port } = await serve((c) => {
    const p = payloads[next++]!;
    // in pieces of varied size, so that reads of both sockets alternate in the slabs
    let off = 0;
    const more = () => {
      while (off < p.length) {
        const n = Math.min(p.length - off, 1 + ((off * 7919) % 70_000));
        const ok = c.write(p.subarray(off, off + n));
        off += n;
        if (!ok) return void c.once('drain', more);
      }
      c.end();
    };
    more();
  });
  try {
    const received = await Promise.all(
      payloads.map(
        () =>
          new Promise<Buffer[]>((resolve, reject) => {
            const chunks: Buffer[] = [];
            const s = slabSocket(port);
            s.on('data', (d: Buffer) => chunks.push(d));
            s.on('end', () => resolve(chunks));
            s.on('error', reject);
          }),
      ),
    );
    // checked only after everything was read: an overwritten early chunk would show here
    const digests = received.map((chunks) => createHash('sha256').update(Buffer.concat(chunks)).digest('hex')).sort();
    const sentDigests = payloads.map((p) => createHash('sha256').update(p).digest('hex')).sort();
    assert.equal(digests, sentDigests);
    assert.ok(received.every((c) => c.length > 2), 'many reads each');
  } finally {
    server.close();
  }
});

test('pause stops reading, unshift puts bytes back in front, resume goes on in order', async () => {
  const { server, port } = await serve((c) => {
    c.write('hello');
    setTimeout(() => c.end('world'), 50);
  });
  try {
    const s = slabSocket(port);
    const first = await new Promise<string>((resolve) => s.once('data', (d: Buffer) => resolve(d.toString())));
    assert.is(first, 'hello');
    s.pause();
    s.unshift(Buffer.from('[back]'));
    await new Promise((r) => setTimeout(r, 120)); // 'world' has arrived in the kernel by now
    const rest: string[] = [];
    s.on('data', (d: Buffer) => rest.push(d.toString()));
    const ended = new Promise((r) => s.once('end', r));
    s.resume();
    await ended;
    assert.is(rest.join(''), '[back]world');
  } finally {
    server.close();
  }
});

test("release() while handling a chunk: the next read starts at the slab's beginning again; elsewhere it does nothing", async () => {
  const payload = randomBytes(4 << 20);
  const { server, port } = await serve((c) => {
    let off = 0;
    const more = () => {
      while (off < payload.length) {
        const ok = c.write(payload.subarray(off, off + 50_000));
        off += 50_000;
        if (!ok) return void c.once('drain', more);
      }
      c.end();
    };
    more();
  });
  try {
    const s = slabSocket(port);
    const copies: Buffer[] = [];
    const memory = new Set<ArrayBufferLike>();
    const offsets = new Set<number>();
    await new Promise<void>((resolve, reject) => {
      s.on('data', (d: Buffer) => {
        copies.push(Buffer.from(d)); // what a reader keeps, it copies
        memory.add(d.buffer);
        offsets.add(d.byteOffset);
        s.reads.release();
      });
      s.on('end', resolve);
      s.on('error', reject);
    });
    s.reads.release(); // not while a chunk is handled: nothing changes, nothing breaks
    assert.ok(Buffer.concat(copies).equals(payload), 'every byte, in order');
    assert.ok(copies.length > 10, 'many reads');
    assert.is(memory.size, 1, 'one slab for the whole stream');
    assert.equal([...offsets], [0], 'every read at its start');
  } finally {
    server.close();
  }
});

test.run();
