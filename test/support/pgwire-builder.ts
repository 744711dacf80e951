// A deliberately naive builder of PostgreSQL protocol bytes, written from the protocol
// documentation's "Message Formats" section and sharing no code with runtime/. Tests use it
// as the oracle: encoders must produce exactly these bytes, decoders must read them.
//
// Everything is built as plain arrays of byte values and turned into a Buffer at the end.

type Bytes = number[];

export function i8(n: number): Bytes {
  return [n & 0xff];
}

export function i16(n: number): Bytes {
  const v = n < 0 ? n + 0x10000 : n;
  return [(v >> 8) & 0xff, v & 0xff];
}

export function i32(n: number): Bytes {
  const v = n < 0 ? n + 0x100000000 : n;
  return [Math.floor(v / 0x1000000) & 0xff, Math.floor(v / 0x10000) & 0xff, Math.floor(v / 0x100) & 0xff, v & 0xff];
}

export function str(s: string): Bytes {
  return [...new TextEncoder().encode(s)];
}

/** String(s): UTF-8 bytes and a terminating zero. */
export function cstr(s: string): Bytes {
  return [...str(s), 0];
}

export function raw(b: Uint8Array | Bytes): Bytes {
  return [...b];
}

export function char(c: string): number {
  return c.charCodeAt(0);
}

/** A typed message: Byte1(type), Int32(length of everything after the type byte), body. */
export function message(type: string, ...parts: Bytes[]): Buffer {
  const body = parts.flat();
  return Buffer.from([char(type), ...i32(body.length + 4), ...body]);
}

/** An untyped startup-phase packet: Int32(length including itself), body. */
export function packet(...parts: Bytes[]): Buffer {
  const body = parts.flat();
  return Buffer.from([...i32(body.length + 4), ...body]);
}

export function concat(...bufs: Buffer[]): Buffer {
  return Buffer.from(bufs.flatMap((b) => [...b]));
}

// ---------- startup phase (F) ----------

export function startupMessage(params: [string, string][], major = 3, minor = 0): Buffer {
  return packet(i16(major), i16(minor), ...params.flatMap(([k, v]) => [cstr(k), cstr(v)]), [0]);
}

export function sslRequest(): Buffer {
  return packet(i16(1234), i16(5679));
}

export function gssEncRequest(): Buffer {
  return packet(i16(1234), i16(5680));
}

export function cancelRequest(pid: number, secret: number | Bytes): Buffer {
  return packet(i16(1234), i16(5678), i32(pid), typeof secret === 'number' ? i32(secret) : secret);
}

// ---------- authentication ----------

export const authenticationOk = () => message('R', i32(0));
export const authenticationKerberosV5 = () => message('R', i32(2));
export const authenticationCleartextPassword = () => message('R', i32(3));
export const authenticationMD5Password = (salt: Bytes) => message('R', i32(5), salt);
export const authenticationGSS = () => message('R', i32(7));
export const authenticationGSSContinue = (data: Bytes) => message('R', i32(8), data);
export const authenticationSSPI = () => message('R', i32(9));
export const authenticationSASL = (mechs: string[]) => message('R', i32(10), ...mechs.map(cstr), [0]);
export const authenticationSASLContinue = (data: Bytes) => message('R', i32(11), data);
export const authenticationSASLFinal = (data: Bytes) => message('R', i32(12), data);

export const passwordMessage = (pw: string) => message('p', cstr(pw));
export const saslInitialResponse = (mech: string, data: Bytes | null) =>
  message('p', cstr(mech), data === null ? i32(-1) : [...i32(data.length), ...data]);
export const saslResponse = (data: Bytes) => message('p', data);

// ---------- simple query ----------

export const query = (sql: string) => message('Q', cstr(sql));

// ---------- extended query ----------

export const parse = (name: string, sql: string, oids: number[] = []) =>
  message('P', cstr(name), cstr(sql), i16(oids.length), ...oids.map(i32));

export function bind(
  portal: string,
  statement: string,
  paramFormats: number[],
  values: (Bytes | null)[],
  resultFormats: number[],
): Buffer {
  return message(
    'B',
    cstr(portal),
    cstr(statement),
    i16(paramFormats.length),
    ...paramFormats.map(i16),
    i16(values.length),
    ...values.map((v) => (v === null ? i32(-1) : [...i32(v.length), ...v])),
    i16(resultFormats.length),
    ...resultFormats.map(i16),
  );
}

export const describe = (kind: 'S' | 'P', name: string) => message('D', [char(kind)], cstr(name));
export const execute = (portal: string, maxRows: number) => message('E', cstr(portal), i32(maxRows));
export const close = (kind: 'S' | 'P', name: string) => message('C', [char(kind)], cstr(name));
export const sync = () => message('S');
export const flush = () => message('H');
export const terminate = () => message('X');

export const parseComplete = () => message('1');
export const bindComplete = () => message('2');
export const closeComplete = () => message('3');
export const noData = () => message('n');
export const portalSuspended = () => message('s');
export const parameterDescription = (oids: number[]) => message('t', i16(oids.length), ...oids.map(i32));

// ---------- results ----------

export interface Field {
  name: string;
  tableOid: number;
  column: number;
  typeOid: number;
  typeSize: number;
  typeMod: number;
  format: number;
}

export const rowDescription = (fields: Field[]) =>
  message(
    'T',
    i16(fields.length),
    ...fields.map((f) => [...cstr(f.name), ...i32(f.tableOid), ...i16(f.column), ...i32(f.typeOid), ...i16(f.typeSize), ...i32(f.typeMod), ...i16(f.format)]),
  );

export const dataRow = (values: (Bytes | null)[]) =>
  message('D', i16(values.length), ...values.map((v) => (v === null ? i32(-1) : [...i32(v.length), ...v])));

export const commandComplete = (tag: string) => message('C', cstr(tag));
export const emptyQueryResponse = () => message('I');

// ---------- copy ----------

export const copyInResponse = (format: number, cols: number[]) => message('G', [format], i16(cols.length), ...cols.map(i16));
export const copyOutResponse = (format: number, cols: number[]) => message('H', [format], i16(cols.length), ...cols.map(i16));
export const copyBothResponse = (format: number, cols: number[]) => message('W', [format], i16(cols.length), ...cols.map(i16));
export const copyData = (data: Bytes) => message('d', data);
export const copyDone = () => message('c');
export const copyFail = (msg: string) => message('f', cstr(msg));

// ---------- errors and notices ----------

/** fields: [code letter, value] in the order given */
export const errorResponse = (fields: [string, string][]) => message('E', ...fields.map(([c, v]) => [char(c), ...cstr(v)]), [0]);
export const noticeResponse = (fields: [string, string][]) => message('N', ...fields.map(([c, v]) => [char(c), ...cstr(v)]), [0]);

// ---------- status ----------

export const readyForQuery = (status: 'I' | 'T' | 'E') => message('Z', [char(status)]);
export const parameterStatus = (name: string, value: string) => message('S', cstr(name), cstr(value));
export const backendKeyData = (pid: number, secret: number | Bytes) => message('K', i32(pid), typeof secret === 'number' ? i32(secret) : secret);
export const notificationResponse = (pid: number, channel: string, payload: string) => message('A', i32(pid), cstr(channel), cstr(payload));
/** `version`: the Int32 as sent; real servers send the whole version, 3 << 16 | minor (see status.ts). */
export const negotiateProtocolVersion = (version: number, options: string[]) => message('v', i32(version), i32(options.length), ...options.map(cstr));

// ---------- function call ----------

export const functionCall = (oid: number, argFormats: number[], args: (Bytes | null)[], resultFormat: number) =>
  message(
    'F',
    i32(oid),
    i16(argFormats.length),
    ...argFormats.map(i16),
    i16(args.length),
    ...args.map((v) => (v === null ? i32(-1) : [...i32(v.length), ...v])),
    i16(resultFormat),
  );
export const functionCallResponse = (value: Bytes | null) => message('V', value === null ? i32(-1) : [...i32(value.length), ...value]);
