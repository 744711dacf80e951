// Reading a socket into shared slabs instead of a new buffer per read.
//
//   const socket = net.connect({ host, port, onread: slabReads(() => socket) });
//   socket.on('data', (chunk) => ...);            // as with any socket
//
// By default Node allocates 64 KiB for every read of a socket, shrinks it to what arrived and
// wraps it in a new ArrayBuffer and Buffer, then passes it through the Readable stream's
// machinery. A gateway relaying small replies pays that on every one. With `onread` (a public
// option of net.connect) the kernel writes into memory we hand out: here, the unused tail of
// the socket's slab. Each read's bytes get the next region and no region is ever written
// again, so a chunk (and any view of it the caller keeps or queues on another socket) stays
// valid for as long as it is referenced, exactly like a Buffer from Node's own pool; a slab is
// freed by the garbage collector when nothing refers to it any more. A view kept for long
// keeps its whole slab (128 KiB): copy what waits (a write queued behind a slow reader, say).
//
// One slab per socket, never shared: Node asks for the buffer of a socket's next read right
// after delivering its previous one, and holds it until that read happens, however many reads
// of other sockets come in between.
//
// The chunk is delivered as the socket's 'data' event: code reading the socket does not know
// the difference, and pause(), resume(), unshift(), 'end' and 'close' behave as usual.
// Only for plain sockets: a TLS socket reads through its own layer.

import type { OnReadOpts, Socket } from 'node:net';

const SLAB_BYTES = 128 * 1024;
/** below this much room a new slab is started (a read gets at most the room left) */
const MIN_ROOM = 32 * 1024;

/** `onread` options that deliver each read as a 'data' event of the socket `socket()` returns. */
export function slabReads(socket: () => Socket): OnReadOpts {
  let slab = Buffer.allocUnsafe(0);
  let used = 0;
  return {
    buffer(): Buffer {
      if (slab.length - used < MIN_ROOM) {
        slab = Buffer.allocUnsafe(SLAB_BYTES);
        used = 0;
      }
      return slab.subarray(used);
    },
    callback(n: number, buf: Uint8Array): boolean {
      // `buf` is the region handed out for this read; the next read starts after it.
      if (buf.buffer === slab.buffer) used = buf.byteOffset - slab.byteOffset + n;
      socket().emit('data', Buffer.from(buf.buffer, buf.byteOffset, n));
      return true;
    },
  };
}
