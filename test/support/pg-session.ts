// A minimal test client over a socket returned by connectUpstream: send encoded messages,
// read the server's messages through BackendReader and the runtime decoders.
import type { Socket } from 'node:net';
import * as p from '../../runtime/postgres/protocol/index.ts';

const T = p.BackendMessageType;

/** Every decoded backend message. */
export type Decoded =
  | p.Authentication
  | p.BackendKeyData
  | p.CommandComplete
  | p.CopyData
  | p.CopyResponse
  | p.DataRow
  | p.ErrorResponse
  | p.FunctionCallResponse
  | p.NegotiateProtocolVersion
  | p.NoticeResponse
  | p.NotificationResponse
  | p.ParameterDescription
  | p.ParameterStatus
  | p.ReadyForQuery
  | p.RowDescription
  | { readonly kind: 'BindComplete' | 'CloseComplete' | 'CopyDone' | 'EmptyQueryResponse' | 'NoData' | 'ParseComplete' | 'PortalSuspended' };

/** Decodes any backend message with the runtime decoders (for tests). */
export function decodeBackendMessage(type: number, body: Buffer): Decoded | p.ProtocolError {
  switch (type) {
    case T.Authentication: return p.decodeAuthentication(body);
    case T.BackendKeyData: return p.decodeBackendKeyData(body);
    case T.BindComplete: return p.decodeBindComplete(body);
    case T.CloseComplete: return p.decodeCloseComplete(body);
    case T.CommandComplete: return p.decodeCommandComplete(body);
    case T.CopyData: return p.decodeCopyData(body);
    case T.CopyDone: return p.decodeCopyDone(body);
    case T.CopyInResponse: return p.decodeCopyInResponse(body);
    case T.CopyOutResponse: return p.decodeCopyOutResponse(body);
    case T.CopyBothResponse: return p.decodeCopyBothResponse(body);
    case T.DataRow: return p.decodeDataRow(body);
    case T.EmptyQueryResponse: return p.decodeEmptyQueryResponse(body);
    case T.ErrorResponse: return p.decodeErrorResponse(body);
    case T.FunctionCallResponse: return p.decodeFunctionCallResponse(body);
    case T.NegotiateProtocolVersion: return p.decodeNegotiateProtocolVersion(body);
    case T.NoData: return p.decodeNoData(body);
    case T.NoticeResponse: return p.decodeNoticeResponse(body);
    case T.NotificationResponse: return p.decodeNotificationResponse(body);
    case T.ParameterDescription: return p.decodeParameterDescription(body);
    case T.ParameterStatus: return p.decodeParameterStatus(body);
    case T.ParseComplete: return p.decodeParseComplete(body);
    case T.PortalSuspended: return p.decodePortalSuspended(body);
    case T.ReadyForQuery: return p.decodeReadyForQuery(body);
    case T.RowDescription: return p.decodeRowDescription(body);
    default: return p.protocolError('unknown-message-type', `unknown type ${type}`, type);
  }
}

export class WireSession {
  private readonly reader = new p.BackendReader();
  private readonly queue: Decoded[] = [];
  private waiter: (() => void) | null = null;
  private failure: Error | null = null;
  /** every chunk received, in order (to replay a real session through the framing) */
  readonly chunks: Buffer[] = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(Buffer.from(chunk));
      this.reader.push(chunk);
      for (let m = this.reader.next(); m !== null; m = this.reader.next()) {
        if (m.kind === 'ProtocolError') {
          this.failure = new Error(m.message);
          break;
        }
        const d = decodeBackendMessage(m.type, m.body);
        if (d.kind === 'ProtocolError') {
          this.failure = new Error((d as p.ProtocolError).message);
          break;
        }
        // values are views of socket chunks: copy them, the test keeps them
        this.queue.push(copyBuffers(d));
      }
      this.wake();
    });
    socket.on('close', () => {
      this.failure ??= new Error('connection closed');
      this.wake();
    });
    socket.on('error', (e) => {
      this.failure ??= e;
      this.wake();
    });
    socket.resume();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  send(...messages: Buffer[]): void {
    this.socket.write(messages.length === 1 ? messages[0]! : Buffer.concat(messages));
  }

  async next(timeoutMs = 15_000): Promise<Decoded> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.queue.shift();
      if (m !== undefined) return m;
      if (this.failure !== null) throw this.failure;
      if (Date.now() > deadline) throw new Error('timed out waiting for a message');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Messages up to and including the first of `kind`. */
  async until(kind: string, timeoutMs?: number): Promise<Decoded[]> {
    const out: Decoded[] = [];
    for (;;) {
      const m = await this.next(timeoutMs);
      out.push(m);
      if (m.kind === kind) return out;
    }
  }

  close(): void {
    this.socket.write(p.encodeTerminate());
    this.socket.end();
  }
}

function copyBuffers(d: Decoded): Decoded {
  const copy = (v: unknown): unknown => {
    if (Buffer.isBuffer(v)) return Buffer.from(v);
    if (Array.isArray(v)) return v.map(copy);
    return v;
  };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(d)) out[k] = copy(v);
  return out as Decoded;
}
