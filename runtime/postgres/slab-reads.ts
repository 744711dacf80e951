// Reading a socket into a slab of its own instead of a new buffer per read.
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
  /** the region handed out for the next read, and where it starts in the slab */
  let handed: Buffer | null = null;
  let handedAt = 0;
  return {
    buffer(): Buffer {
      if (slab.length - used < MIN_ROOM) {
        slab = Buffer.allocUnsafe(SLAB_BYTES);
        used = 0;
      }
      handedAt = used;
      handed = slab.subarray(used);
      return handed;
    },
    callback(n: number, buf: Uint8Array): boolean {
      let chunk: Buffer;
      if (buf === handed) {
        // the next read starts after this one's bytes
        chunk = slab.subarray(handedAt, handedAt + n);
        used = handedAt + n;
      } else {
        chunk = Buffer.from(buf.subarray(0, n)); // not a region of ours (Node passes back what buffer() gave): a copy is safe
      }
      handed = null;
      socket().emit('data', chunk);
      return true;
    },
  };
}
