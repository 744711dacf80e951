// The simple query protocol's request: Query ('Q'), one NUL-terminated string of SQL (which
// may hold several statements). The SQL is decoded as strict UTF-8: what the gateway parses
// must be exactly what the server runs.

import { protocolError, type ProtocolError } from './errors.ts';
import { FrontendMessageType } from './framing.ts';
import { utf8Strict } from './text.ts';
import { finishScratch, scratchWriter, type Writer } from './writer.ts';

const Q = FrontendMessageType.Query;

export interface Query {
  readonly kind: 'Query';
  readonly sql: string;
}

export function decodeQuery(body: Buffer): Query | ProtocolError {
  const end = body.indexOf(0);
  if (end < 0) return protocolError('missing-terminator', 'query: the query string is not NUL-terminated', Q);
  if (end !== body.length - 1) return protocolError('trailing-bytes', `query: ${body.length - 1 - end} unexpected bytes after the query string`, Q);
  const sql = utf8Strict(body, 0, end);
  if (sql === null) return protocolError('invalid-utf8', 'query: the query string is not valid UTF-8', Q);
  return { kind: 'Query', sql };
}

export function writeQuery(w: Writer, sql: string): void {
  const at = w.beginMessage(Q);
  w.cstring(sql);
  w.endMessage(at);
}

export function encodeQuery(sql: string): Buffer {
  const w = scratchWriter();
  writeQuery(w, sql);
  return finishScratch(w);
}
