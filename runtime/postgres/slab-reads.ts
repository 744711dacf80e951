// Reading a socket into a slab of its own instead of a new buffer per read.
//
//   const socket = net.connect({ host, port, onread: slabReads(() => socket) });
//   socket.on('data', (chunk) => ...);            // as with any socket
//
// By default Node allocates 64 KiB for every read of a socket, shrinks it to what arrived and
// wraps it in a new ArrayBuffer and Buffer, then passes it through the Readable stream's
// machinery. A gateway relaying small replies pays that on every one. With `onread` (a public
// option of net.connect) the kernel writes into memory we hand out: here, the unused tail of
// the socket's slab. Each read's bytes get the next region, so a chunk (and any view of it the
// caller keeps, or queues on another socket) stays valid: a region is written again only after
// the reader says nothing refers to what it was given (`release()`, below), and a slab that is
// left is freed by the garbage collector once nothing refers to it. A view kept for long keeps
// its whole slab (128 KiB): copy what waits (a write queued behind a slow reader, say).
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

export class SlabReads {
  private slab = Buffer.allocUnsafe(0);
  private used = 0;
  /** the region handed out for the next read, and where it starts in the slab */
  private handed: Buffer | null = null;
  private handedAt = 0;
  private delivering = false;

  /** The `onread` options of the socket `socket()` returns: each read becomes its 'data' event. */
  readonly onread: OnReadOpts;

  constructor(socket: () => Socket) {
    this.onread = {
      buffer: () => this.next(),
      callback: (n: number, buf: Uint8Array): boolean => {
        let chunk: Buffer;
        if (buf === this.handed) {
          // the next read starts after this one's bytes
          chunk = this.slab.subarray(this.handedAt, this.handedAt + n);
          this.used = this.handedAt + n;
        } else {
          chunk = Buffer.from(buf.subarray(0, n)); // not a region of ours (Node passes back what buffer() gave): a copy is safe
        }
        this.handed = null;
        this.delivering = true;
        try {
          socket().emit('data', chunk);
        } finally {
          this.delivering = false;
        }
        return true;
      },
    };
  }

  /**
   * Called while handling a chunk ('data'): nothing refers to any chunk delivered so far any more
   * (everything relayed has been written out, nothing is queued, what is kept was copied), so the
   * next read may start at the slab's beginning again instead of using up its tail. Does nothing
   * at other times: the region for the next read is already handed out then.
   */
  release(): void {
    if (this.delivering) this.used = 0;
  }

  private next(): Buffer {
    if (this.slab.length - this.used < MIN_ROOM) {
      this.slab = Buffer.allocUnsafe(SLAB_BYTES);
      this.used = 0;
    }
    this.handedAt = this.used;
    this.handed = this.slab.subarray(this.used);
    return this.handed;
  }
}
