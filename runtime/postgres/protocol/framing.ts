// Incremental message framing for the PostgreSQL v3 protocol.
//
//   const reader = new FrontendReader();          // client → server bytes
//   socket.on('data', (chunk) => {
//     reader.push(chunk);
//     for (let m = reader.next(); m !== null; m = reader.next()) {
//       if (m.kind === 'ProtocolError') { fatal(m); return; }
//       handle(m.type, m.body, m.raw);           // raw: forward unchanged
//     }
//   });
//   socket.on('end', () => { const e = reader.end(); if (e) log(e); });
//
// Chunks of any size go in; whole messages come out. `body` and `raw` are views (subarrays)
// of the received chunk whenever the message arrived in one chunk, and of one exact-size
// buffer otherwise (a message split over many chunks is copied once, never re-concatenated).
// Views keep their whole chunk alive: copy (`Buffer.from(raw)`) what you keep for long.
//
// The first message of a client connection is untyped: int32 length (including itself),
// int32 code, then the body (StartupMessage, SSLRequest, GSSENCRequest, CancelRequest). Those
// frames have `type` 0 and a body that starts with the code (see startup.ts to decode them).
// After an SSLRequest or GSSENCRequest the reader stays in the startup phase (the client sends
// its first message again, over TLS or in the clear after 'N'); `bufferedBytes` then tells
// whether the client sent anything after the request before the server answered, which a
// server must refuse (CVE-2021-23214: those bytes would be trusted as if they came over TLS).
// After a StartupMessage the reader reads typed messages: 1 type byte, int32 length
// (including itself, so >= 4), body. After a CancelRequest nothing may follow.
//
// Errors: a length below the minimum, a length beyond the cap for that type, an unknown type
// byte (unless allowed) and bytes after a CancelRequest are sticky: `next()` keeps returning
// the same ProtocolError, nothing more is parsed, the caller closes the connection.
// Nothing here throws on any input.

import { protocolError, typeName, type ProtocolError } from './errors.ts';

/** Message type bytes sent by the frontend (client). */
export const FrontendMessageType = {
  Bind: 0x42, // 'B'
  Close: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyFail: 0x66, // 'f'
  Describe: 0x44, // 'D'
  Execute: 0x45, // 'E'
  Flush: 0x48, // 'H'
  FunctionCall: 0x46, // 'F'
  /** PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse: told apart by context */
  Password: 0x70, // 'p'
  Parse: 0x50, // 'P'
  Query: 0x51, // 'Q'
  Sync: 0x53, // 'S'
  Terminate: 0x58, // 'X'
} as const;

/** Message type bytes sent by the backend (server). */
export const BackendMessageType = {
  Authentication: 0x52, // 'R'
  BackendKeyData: 0x4b, // 'K'
  BindComplete: 0x32, // '2'
  CloseComplete: 0x33, // '3'
  CommandComplete: 0x43, // 'C'
  CopyData: 0x64, // 'd'
  CopyDone: 0x63, // 'c'
  CopyInResponse: 0x47, // 'G'
  CopyOutResponse: 0x48, // 'H'
  CopyBothResponse: 0x57, // 'W'
  DataRow: 0x44, // 'D'
  EmptyQueryResponse: 0x49, // 'I'
  ErrorResponse: 0x45, // 'E'
  FunctionCallResponse: 0x56, // 'V'
  NegotiateProtocolVersion: 0x76, // 'v'
  NoData: 0x6e, // 'n'
  NoticeResponse: 0x4e, // 'N'
  NotificationResponse: 0x41, // 'A'
  ParameterDescription: 0x74, // 't'
  ParameterStatus: 0x53, // 'S'
  ParseComplete: 0x31, // '1'
  PortalSuspended: 0x73, // 's'
  ReadyForQuery: 0x5a, // 'Z'
  RowDescription: 0x54, // 'T'
} as const;

/**
 * One whole message. Only `raw` is materialised: a relayed message never pays for a second
 * view; `body` is computed on access (a new view each time: read it once).
 */
export class Frame {
  declare readonly kind: 'Frame';
  constructor(
    /** the type byte (`0x51` for 'Q'); 0 for the untyped startup-phase packets */
    readonly type: number,
    /** the whole message as received: forward this to pass the message on unchanged */
    readonly raw: Buffer,
    private readonly bodyStart: number,
    /**
     * the buffer `raw` is a view of: the chunk it arrived in (shared by the messages of one
     * chunk, so consecutive ones can go out as one view of it), or `raw` itself
     */
    readonly chunk: Buffer = raw,
  ) {}

  /** the body after the type byte and length word (startup packets: starting with the code) */
  get body(): Buffer {
    return this.raw.subarray(this.bodyStart);
  }
}
Object.defineProperty(Frame.prototype, 'kind', { value: 'Frame', enumerable: true });

export interface ReaderOptions {
  /** cap for the large messages (frontend: Query, Parse, Bind, FunctionCall, CopyData; backend: all) */
  maxMessageLength?: number;
  /** frontend only: cap for the fixed-shape messages (Sync, Execute, Describe, Close, ...), default 10,000 like PostgreSQL */
  maxSmallMessageLength?: number;
  /** frontend only: cap for 'p' messages (passwords, tokens, SASL), default 65,536 */
  maxAuthMessageLength?: number;
  /** frontend only: cap for the startup packets, default 10,000 like PostgreSQL */
  maxStartupLength?: number;
  /** pass messages with unknown type bytes through instead of failing (default false) */
  allowUnknownTypes?: boolean;
}

export const DEFAULT_FRONTEND_MAX_MESSAGE = 64 * 1024 * 1024;
export const DEFAULT_BACKEND_MAX_MESSAGE = 1024 * 1024 * 1024;
export const DEFAULT_SMALL_MAX_MESSAGE = 10_000;
export const DEFAULT_AUTH_MAX_MESSAGE = 65_536;
export const DEFAULT_MAX_STARTUP = 10_000;

const SSL_REQUEST_CODE = 80877103;
const GSSENC_REQUEST_CODE = 80877104;
const CANCEL_REQUEST_CODE = 80877102;

const EMPTY = Buffer.alloc(0);

type Phase = 'startup' | 'typed' | 'ended';

/**
 * Shared machinery. `limits[type]` is the maximum length word for that type byte, 0 when the
 * type is unknown (index 256 holds the limit used for unknown types when they are allowed).
 */
class MessageReader {
  protected phase: Phase;
  private readonly limits: Int32Array;
  private readonly maxStartup: number;

  private chunk: Buffer = EMPTY;
  private pos = 0;
  /** a header split over chunks: up to 5 bytes */
  private readonly hdr = Buffer.alloc(5);
  private hdrFilled = 0;
  /** a message split over chunks: its exact-size buffer */
  private partial: Buffer | null = null;
  private partialFilled = 0;
  private partialType = 0;
  private failed: ProtocolError | null = null;

  protected constructor(phase: Phase, limits: Int32Array, maxStartup: number) {
    this.phase = phase;
    this.limits = limits;
    this.maxStartup = maxStartup;
  }

  /** Feeds received bytes. Call `next()` until it returns null before the next push. */
  push(data: Buffer): void {
    if (this.failed !== null || data.length === 0) return;
    if (this.pos < this.chunk.length) {
      // The caller pushed before draining: keep both (rare, so a copy is fine).
      this.chunk = Buffer.concat([this.chunk.subarray(this.pos), data]);
    } else {
      this.chunk = data;
    }
    this.pos = 0;
  }

  /** The next whole message, null when more bytes are needed, or a (sticky) ProtocolError. */
  next(): Frame | ProtocolError | null {
    if (this.failed !== null) return this.failed;
    if (this.partial !== null) return this.continuePartial();
    if (this.hdrFilled > 0) return this.continueHeader();

    const chunk = this.chunk;
    const pos = this.pos;
    const avail = chunk.length - pos;
    if (avail === 0) return null;
    if (this.phase === 'ended') return this.fail(protocolError('unexpected-message', 'data after a CancelRequest', 0));

    if (this.phase === 'typed') {
      if (avail < 5) return this.stashHeader(avail);
      const type = chunk[pos]!;
      const len = chunk.readInt32BE(pos + 1);
      const bad = this.checkTyped(type, len);
      if (bad !== null) return this.fail(bad);
      const total = len + 1;
      if (avail >= total) {
        this.pos = pos + total;
        return new Frame(type, chunk.subarray(pos, pos + total), 5, chunk);
      }
      return this.startPartial(type, total, avail);
    }

    // startup phase: int32 length, int32 code, ...
    if (avail < 4) return this.stashHeader(avail);
    const len = chunk.readInt32BE(pos);
    const bad = this.checkStartup(len);
    if (bad !== null) return this.fail(bad);
    if (avail >= len) {
      this.pos = pos + len;
      const raw = chunk.subarray(pos, pos + len);
      this.afterStartupPacket(raw);
      return new Frame(0, raw, 4, chunk);
    }
    return this.startPartial(0, len, avail);
  }

  /**
   * Ends the stream: null when it ended between messages, a 'truncated' error when it ended
   * inside one (or the reader had already failed).
   */
  end(): ProtocolError | null {
    if (this.failed !== null) return this.failed;
    const pending = this.bufferedBytes;
    if (pending > 0) return this.fail(protocolError('truncated', `the stream ended inside a message (${pending} bytes pending)`));
    return null;
  }

  /** Bytes received and not yet returned as messages (including a partial message). */
  get bufferedBytes(): number {
    return this.chunk.length - this.pos + this.hdrFilled + this.partialFilled;
  }

  /** The sticky error, if the reader has failed. */
  get error(): ProtocolError | null {
    return this.failed;
  }

  /**
   * Removes and returns every byte received and not yet returned as a message, as one buffer
   * (possibly empty). The reader is empty afterwards. For handing a connection over.
   */
  takeBuffered(): Buffer {
    const parts: Buffer[] = [];
    if (this.hdrFilled > 0) parts.push(Buffer.from(this.hdr.subarray(0, this.hdrFilled)));
    if (this.partial !== null) parts.push(this.partial.subarray(0, this.partialFilled));
    if (this.pos < this.chunk.length) parts.push(this.chunk.subarray(this.pos));
    this.hdrFilled = 0;
    this.partial = null;
    this.partialFilled = 0;
    this.chunk = EMPTY;
    this.pos = 0;
    return parts.length === 0 ? EMPTY : parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  // --- internals ---

  private fail(e: ProtocolError): ProtocolError {
    this.failed = e;
    this.chunk = EMPTY;
    this.pos = 0;
    this.partial = null;
    this.partialFilled = 0;
    this.hdrFilled = 0;
    return e;
  }

  private checkTyped(type: number, len: number): ProtocolError | null {
    let limit = this.limits[type]!;
    if (limit === 0) {
      limit = this.limits[256]!;
      if (limit === 0) return protocolError('unknown-message-type', `unknown message type ${typeName(type)}`, type);
    }
    if (len < 4) return protocolError('invalid-length', `invalid message length ${len} for message type ${typeName(type)}`, type);
    if (len > limit) {
      return protocolError('message-too-large', `message type ${typeName(type)} of ${len} bytes exceeds the limit of ${limit}`, type, '54000');
    }
    return null;
  }

  private checkStartup(len: number): ProtocolError | null {
    if (len < 8) return protocolError('invalid-length', `invalid startup packet length ${len}`, 0);
    if (len > this.maxStartup) {
      return protocolError('message-too-large', `startup packet of ${len} bytes exceeds the limit of ${this.maxStartup}`, 0);
    }
    return null;
  }

  /** `raw`: the whole startup packet (length word, code, ...). */
  private afterStartupPacket(raw: Buffer): void {
    const code = raw.readInt32BE(4);
    if (code === SSL_REQUEST_CODE || code === GSSENC_REQUEST_CODE) return; // the first message comes again
    this.phase = code === CANCEL_REQUEST_CODE ? 'ended' : 'typed';
  }

  private stashHeader(avail: number): null {
    this.chunk.copy(this.hdr, 0, this.pos, this.pos + avail);
    this.hdrFilled = avail;
    this.pos = this.chunk.length;
    return null;
  }

  private continueHeader(): Frame | ProtocolError | null {
    const typed = this.phase === 'typed';
    const hdrLen = typed ? 5 : 4;
    const avail = this.chunk.length - this.pos;
    const take = Math.min(hdrLen - this.hdrFilled, avail);
    this.chunk.copy(this.hdr, this.hdrFilled, this.pos, this.pos + take);
    this.hdrFilled += take;
    this.pos += take;
    if (this.hdrFilled < hdrLen) return null;
    let type = 0;
    let total: number;
    if (typed) {
      type = this.hdr[0]!;
      const len = this.hdr.readInt32BE(1);
      const bad = this.checkTyped(type, len);
      if (bad !== null) return this.fail(bad);
      total = len + 1;
    } else {
      const len = this.hdr.readInt32BE(0);
      const bad = this.checkStartup(len);
      if (bad !== null) return this.fail(bad);
      total = len;
    }
    const buf = Buffer.allocUnsafe(total);
    this.hdr.copy(buf, 0, 0, hdrLen);
    this.hdrFilled = 0;
    this.partial = buf;
    this.partialFilled = hdrLen;
    this.partialType = type;
    return this.continuePartial();
  }

  private startPartial(type: number, total: number, avail: number): null {
    const buf = Buffer.allocUnsafe(total);
    this.chunk.copy(buf, 0, this.pos, this.pos + avail);
    this.partial = buf;
    this.partialFilled = avail;
    this.partialType = type;
    this.pos = this.chunk.length;
    return null;
  }

  private continuePartial(): Frame | null {
    const buf = this.partial!;
    const avail = this.chunk.length - this.pos;
    const take = Math.min(buf.length - this.partialFilled, avail);
    if (take > 0) {
      this.chunk.copy(buf, this.partialFilled, this.pos, this.pos + take);
      this.partialFilled += take;
      this.pos += take;
    }
    if (this.partialFilled < buf.length) return null;
    this.partial = null;
    this.partialFilled = 0;
    if (this.phase === 'typed') return new Frame(this.partialType, buf, 5);
    this.afterStartupPacket(buf);
    return new Frame(0, buf, 4);
  }
}

function frontendLimits(o: ReaderOptions): Int32Array {
  const large = clampLimit(o.maxMessageLength ?? DEFAULT_FRONTEND_MAX_MESSAGE);
  const small = clampLimit(o.maxSmallMessageLength ?? DEFAULT_SMALL_MAX_MESSAGE);
  const auth = clampLimit(o.maxAuthMessageLength ?? DEFAULT_AUTH_MAX_MESSAGE);
  const t = new Int32Array(257);
  const F = FrontendMessageType;
  for (const c of [F.Query, F.Parse, F.Bind, F.FunctionCall, F.CopyData]) t[c] = large;
  for (const c of [F.Close, F.CopyDone, F.CopyFail, F.Describe, F.Execute, F.Flush, F.Sync, F.Terminate]) t[c] = small;
  t[F.Password] = auth;
  if (o.allowUnknownTypes === true) t[256] = large;
  return t;
}

function backendLimits(o: ReaderOptions): Int32Array {
  const large = clampLimit(o.maxMessageLength ?? DEFAULT_BACKEND_MAX_MESSAGE);
  const t = new Int32Array(257);
  for (const c of Object.values(BackendMessageType)) t[c] = large;
  if (o.allowUnknownTypes === true) t[256] = large;
  return t;
}

function clampLimit(n: number): number {
  if (!Number.isFinite(n) || n < 4) return 4;
  return Math.min(Math.floor(n), 0x7fffffff);
}

/**
 * Reads what a client sends: the untyped startup-phase packets, then typed messages.
 * `phase` says which is expected next.
 */
export class FrontendReader extends MessageReader {
  constructor(options: ReaderOptions = {}) {
    super('startup', frontendLimits(options), Math.max(8, Math.floor(options.maxStartupLength ?? DEFAULT_MAX_STARTUP)));
  }

  /** 'startup' before the StartupMessage, 'typed' after it, 'ended' after a CancelRequest. */
  get currentPhase(): Phase {
    return this.phase;
  }
}

/** Reads what a server sends: always typed messages. */
export class BackendReader extends MessageReader {
  constructor(options: ReaderOptions = {}) {
    super('typed', backendLimits(options), DEFAULT_MAX_STARTUP);
  }
}

/**
 * True when `chunk` starts like a TLS handshake record (a ClientHello): what a PostgreSQL 17+
 * client sends first with `sslnegotiation=direct`. Check the first chunk before feeding a
 * FrontendReader (whose length word would otherwise read 0x1603.... as a huge length).
 */
export function looksLikeTlsClientHello(chunk: Buffer): boolean {
  return chunk.length >= 1 && chunk[0] === 0x16 && (chunk.length < 2 || chunk[1] === 0x03);
}
