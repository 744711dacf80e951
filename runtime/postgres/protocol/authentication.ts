// Authentication messages.
//
// Backend 'R' (Authentication*): an int32 code, then per code: 0 Ok, 2 KerberosV5,
// 3 CleartextPassword, 5 MD5Password (4-byte salt), 7 GSS, 8 GSSContinue (data), 9 SSPI,
// 10 SASL (mechanism names, each NUL-terminated, then an empty name), 11 SASLContinue (data),
// 12 SASLFinal (data).
//
// Frontend 'p' has one type byte for several messages; which one it is depends on what the
// server asked for, so the caller picks the decoder: PasswordMessage (after Cleartext or
// MD5), SASLInitialResponse (after SASL), SASLResponse (after SASLContinue), GSSResponse.
// Passwords are secrets: no error message here ever includes any byte of them.

import { protocolError, type ProtocolError } from './errors.ts';
import { BackendMessageType, FrontendMessageType } from './framing.ts';
import { Cursor, utf8Strict } from './text.ts';
import { finishScratch, scratchWriter, type Writer } from './writer.ts';

const R = BackendMessageType.Authentication;
const P = FrontendMessageType.Password;

export const AuthCode = {
  Ok: 0,
  KerberosV5: 2,
  CleartextPassword: 3,
  MD5Password: 5,
  GSS: 7,
  GSSContinue: 8,
  SSPI: 9,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

export type Authentication =
  | { readonly kind: 'AuthenticationOk' }
  | { readonly kind: 'AuthenticationKerberosV5' }
  | { readonly kind: 'AuthenticationCleartextPassword' }
  | { readonly kind: 'AuthenticationMD5Password'; readonly salt: Buffer }
  | { readonly kind: 'AuthenticationGSS' }
  | { readonly kind: 'AuthenticationGSSContinue'; readonly data: Buffer }
  | { readonly kind: 'AuthenticationSSPI' }
  | { readonly kind: 'AuthenticationSASL'; readonly mechanisms: string[] }
  | { readonly kind: 'AuthenticationSASLContinue'; readonly data: Buffer }
  | { readonly kind: 'AuthenticationSASLFinal'; readonly data: Buffer };

/** Decodes an 'R' body. Data and salt are views of the body. */
export function decodeAuthentication(body: Buffer): Authentication | ProtocolError {
  const c = new Cursor(body, R, 'authentication request', false);
  const code = c.int32('authentication code');
  if (c.err !== null) return c.err;
  let m: Authentication;
  switch (code) {
    case AuthCode.Ok:
      m = { kind: 'AuthenticationOk' };
      break;
    case AuthCode.KerberosV5:
      m = { kind: 'AuthenticationKerberosV5' };
      break;
    case AuthCode.CleartextPassword:
      m = { kind: 'AuthenticationCleartextPassword' };
      break;
    case AuthCode.MD5Password:
      m = { kind: 'AuthenticationMD5Password', salt: c.bytes(4, 'salt') };
      break;
    case AuthCode.GSS:
      m = { kind: 'AuthenticationGSS' };
      break;
    case AuthCode.GSSContinue:
      m = { kind: 'AuthenticationGSSContinue', data: c.rest() };
      break;
    case AuthCode.SSPI:
      m = { kind: 'AuthenticationSSPI' };
      break;
    case AuthCode.SASL: {
      const mechanisms: string[] = [];
      for (;;) {
        if (c.off >= body.length) {
          c.fail('missing-terminator', 'the mechanism list is not terminated');
          break;
        }
        if (body[c.off] === 0) {
          c.off++;
          break;
        }
        mechanisms.push(c.cstring('mechanism name'));
        if (c.err !== null) break;
      }
      m = { kind: 'AuthenticationSASL', mechanisms };
      break;
    }
    case AuthCode.SASLContinue:
      m = { kind: 'AuthenticationSASLContinue', data: c.rest() };
      break;
    case AuthCode.SASLFinal:
      m = { kind: 'AuthenticationSASLFinal', data: c.rest() };
      break;
    default:
      return protocolError('invalid-value', `authentication request: unknown authentication code ${code}`, R);
  }
  return c.done() ?? m;
}

export function writeAuthentication(w: Writer, m: Authentication): void {
  const at = w.beginMessage(R);
  switch (m.kind) {
    case 'AuthenticationOk':
      w.int32(AuthCode.Ok);
      break;
    case 'AuthenticationKerberosV5':
      w.int32(AuthCode.KerberosV5);
      break;
    case 'AuthenticationCleartextPassword':
      w.int32(AuthCode.CleartextPassword);
      break;
    case 'AuthenticationMD5Password':
      if (m.salt.length !== 4) throw new TypeError('an MD5 salt is 4 bytes');
      w.int32(AuthCode.MD5Password).bytes(m.salt);
      break;
    case 'AuthenticationGSS':
      w.int32(AuthCode.GSS);
      break;
    case 'AuthenticationGSSContinue':
      w.int32(AuthCode.GSSContinue).bytes(m.data);
      break;
    case 'AuthenticationSSPI':
      w.int32(AuthCode.SSPI);
      break;
    case 'AuthenticationSASL':
      w.int32(AuthCode.SASL);
      for (const name of m.mechanisms) {
        if (name === '') throw new TypeError('a SASL mechanism name cannot be empty');
        w.cstring(name);
      }
      w.int8(0);
      break;
    case 'AuthenticationSASLContinue':
      w.int32(AuthCode.SASLContinue).bytes(m.data);
      break;
    case 'AuthenticationSASLFinal':
      w.int32(AuthCode.SASLFinal).bytes(m.data);
      break;
  }
  w.endMessage(at);
}

export function encodeAuthentication(m: Authentication): Buffer {
  const w = scratchWriter();
  writeAuthentication(w, m);
  return finishScratch(w);
}

const AUTH_OK = encodeAuthentication({ kind: 'AuthenticationOk' });
const AUTH_CLEARTEXT = encodeAuthentication({ kind: 'AuthenticationCleartextPassword' });

/** AuthenticationOk (a shared constant: do not modify). */
export function encodeAuthenticationOk(): Buffer {
  return AUTH_OK;
}

/** AuthenticationCleartextPassword (a shared constant: do not modify). */
export function encodeAuthenticationCleartextPassword(): Buffer {
  return AUTH_CLEARTEXT;
}

// --- frontend 'p' ---

export interface PasswordMessage {
  readonly kind: 'PasswordMessage';
  /** the password (or, from agents, their token), decoded as strict UTF-8 */
  readonly password: string;
}

/**
 * PasswordMessage: one NUL-terminated string filling the body exactly. Errors never contain
 * the password.
 */
export function decodePasswordMessage(body: Buffer): PasswordMessage | ProtocolError {
  const end = body.indexOf(0);
  if (end < 0) return protocolError('missing-terminator', 'password message: the password is not NUL-terminated', P);
  if (end !== body.length - 1) return protocolError('trailing-bytes', 'password message: invalid password packet size', P);
  const password = utf8Strict(body, 0, end);
  if (password === null) return protocolError('invalid-utf8', 'password message: the password is not valid UTF-8', P);
  return { kind: 'PasswordMessage', password };
}

export function writePasswordMessage(w: Writer, password: string | Buffer): void {
  const at = w.beginMessage(P);
  if (typeof password === 'string') w.cstring(password);
  else {
    if (password.indexOf(0) !== -1) throw new TypeError('a password cannot contain a NUL byte');
    w.bytes(password).int8(0);
  }
  w.endMessage(at);
}

export function encodePasswordMessage(password: string | Buffer): Buffer {
  const w = scratchWriter();
  writePasswordMessage(w, password);
  return finishScratch(w);
}

export interface SASLInitialResponse {
  readonly kind: 'SASLInitialResponse';
  readonly mechanism: string;
  /** the initial client response (a view), or null when the client sent none (length -1) */
  readonly data: Buffer | null;
}

export function decodeSASLInitialResponse(body: Buffer): SASLInitialResponse | ProtocolError {
  const c = new Cursor(body, P, 'SASL initial response', true);
  const mechanism = c.cstring('mechanism name');
  const len = c.int32('response length');
  if (c.err !== null) return c.err;
  if (len < -1) return protocolError('invalid-value', `SASL initial response: invalid response length ${len}`, P);
  const data = len === -1 ? null : c.bytes(len, 'response');
  return c.done() ?? { kind: 'SASLInitialResponse', mechanism, data };
}

export function writeSASLInitialResponse(w: Writer, mechanism: string, data: Buffer | null): void {
  const at = w.beginMessage(P);
  w.cstring(mechanism);
  if (data === null) w.int32(-1);
  else w.int32(data.length).bytes(data);
  w.endMessage(at);
}

export function encodeSASLInitialResponse(mechanism: string, data: Buffer | null): Buffer {
  const w = scratchWriter();
  writeSASLInitialResponse(w, mechanism, data);
  return finishScratch(w);
}

export interface SASLResponse {
  readonly kind: 'SASLResponse';
  /** a view of the body */
  readonly data: Buffer;
}

/** SASLResponse (and GSSResponse, which has the same shape): the body is the data. */
export function decodeSASLResponse(body: Buffer): SASLResponse {
  return { kind: 'SASLResponse', data: body };
}

export function writeSASLResponse(w: Writer, data: Buffer): void {
  const at = w.beginMessage(P);
  w.bytes(data);
  w.endMessage(at);
}

export function encodeSASLResponse(data: Buffer): Buffer {
  const w = scratchWriter();
  writeSASLResponse(w, data);
  return finishScratch(w);
}
