// A minimal simple-query client over an upstream connection, for the gateway's own queries
// (the catalog snapshot used by masking). Values come back as text; errors as QueryError.

import type { Socket } from 'node:net';
import {
  BackendMessageType as B,
  BackendReader,
  decodeDataRow,
  decodeErrorResponse,
  encodeQuery,
  encodeTerminate,
} from './protocol/index.ts';

export class QueryError extends Error {
  constructor(
    message: string,
    readonly sqlstate: string,
  ) {
    super(message);
  }
}

/** Runs one simple query and returns its rows (all result sets concatenated) as text. */
export function queryRows(socket: Socket, sql: string, timeoutMs = 30_000): Promise<(string | null)[][]> {
  return new Promise((resolve, reject) => {
    const reader = new BackendReader();
    const rows: (string | null)[][] = [];
    let error: QueryError | null = null;
    const timer = setTimeout(() => finish(new QueryError('the catalog query timed out', '57014')), timeoutMs);
    const finish = (e: Error | null) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onClose);
      if (e) reject(e);
      else resolve(rows);
    };
    const onClose = () => finish(new QueryError('the connection closed during a catalog query', '08006'));
    const onData = (chunk: Buffer) => {
      reader.push(chunk);
      for (let m = reader.next(); m !== null; m = reader.next()) {
        if (m.kind === 'ProtocolError') return finish(new QueryError(m.message, '08P01'));
        if (m.type === B.DataRow) {
          const r = decodeDataRow(m.body);
          if (r.kind === 'ProtocolError') return finish(new QueryError(r.message, '08P01'));
          rows.push(r.values.map((v) => (v === null ? null : v.toString('utf8'))));
        } else if (m.type === B.ErrorResponse) {
          const e = decodeErrorResponse(m.body);
          error = new QueryError(e.kind === 'ProtocolError' ? e.message : e.fields.message, e.kind === 'ProtocolError' ? '08P01' : e.fields.code);
        } else if (m.type === B.ReadyForQuery) {
          return finish(error);
        }
      }
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onClose);
    socket.resume();
    socket.write(encodeQuery(sql));
  });
}

export function closeQuietly(socket: Socket): void {
  try {
    socket.end(encodeTerminate());
  } catch {
    socket.destroy();
  }
}
