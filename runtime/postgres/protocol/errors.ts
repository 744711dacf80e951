// Typed protocol errors. Decoders and readers never throw on bytes from a peer: they return
// a ProtocolError, which the caller turns into a FATAL (SQLSTATE 08P01 unless said otherwise)
// and closes that one connection.
//
// Messages are one line, lower case, and never quote the payload of a message (it may hold a
// password, a token or a masked value): only type bytes, lengths and counts.

export type ProtocolErrorCode =
  /** a length word below its minimum (4 for typed messages, 8 for startup packets) */
  | 'invalid-length'
  /** a length word beyond the configured maximum for that message type */
  | 'message-too-large'
  /** a message type byte this side of the protocol does not send */
  | 'unknown-message-type'
  /** the stream ended inside a message */
  | 'truncated'
  /** a field runs past the end of the message body */
  | 'short-message'
  /** bytes left over after the last field */
  | 'trailing-bytes'
  /** a string field without its NUL terminator */
  | 'missing-terminator'
  /** text that is not valid UTF-8 (frontend text is decoded strictly) */
  | 'invalid-utf8'
  /** a count that is negative or inconsistent with another field */
  | 'invalid-count'
  /** a field with a value outside its domain (format code, status byte, value length < -1, ...) */
  | 'invalid-value'
  /** a startup packet with a protocol version this implementation does not speak */
  | 'unsupported-protocol'
  /** a startup parameter given twice */
  | 'duplicate-parameter'
  /** bytes after a CancelRequest, or another message where none may come */
  | 'unexpected-message'
  /** SCRAM: the server's message is malformed, its nonce is wrong, or its proof is wrong */
  | 'scram-invalid-server-message'
  | 'scram-server-signature-mismatch'
  | 'scram-server-error';

export interface ProtocolError {
  readonly kind: 'ProtocolError';
  readonly code: ProtocolErrorCode;
  /** one line, lower case, no payload bytes */
  readonly message: string;
  /** the SQLSTATE a server would use: 08P01 protocol_violation unless noted */
  readonly sqlstate: string;
  /** the message type byte involved, when known (0 for startup packets) */
  readonly messageType?: number;
}

export function protocolError(
  code: ProtocolErrorCode,
  message: string,
  messageType?: number,
  sqlstate = '08P01',
): ProtocolError {
  return messageType === undefined
    ? { kind: 'ProtocolError', code, message, sqlstate }
    : { kind: 'ProtocolError', code, message, sqlstate, messageType };
}

export function isProtocolError(x: unknown): x is ProtocolError {
  return typeof x === 'object' && x !== null && (x as { kind?: unknown }).kind === 'ProtocolError';
}

/** A printable name for a type byte, for error messages: `'Q'`, or `0x00` for non-printables. */
export function typeName(type: number): string {
  return type >= 0x21 && type <= 0x7e ? `'${String.fromCharCode(type)}'` : `0x${type.toString(16).padStart(2, '0')}`;
}
