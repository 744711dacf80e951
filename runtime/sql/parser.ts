// The PostgreSQL parser (libpg_query compiled to WASM, PostgreSQL 18 grammar), loaded once.
//
// `parseSql` turns text into libpg_query's JSON tree or into an error with a position. Text the
// parser must not see is refused before it gets there: more than MAX_SQL_BYTES (a 1 MiB
// statement blocks the event loop for most of a second), a NUL character (the C parser would
// stop reading there), text that is not well-formed UTF-16, and text whose estimated nesting
// exceeds MAX_NESTING (see nesting.ts).
//
// The WASM module is instantiated directly rather than through the package's singleton: a
// failure inside the module (a stack overflow, a trap) leaves that instance corrupted, and the
// package offers no way to replace it. Here a failed instance is retired and a spare, loaded in
// the background, takes over synchronously, so the parser stays usable.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { ParseResult } from '@pgsql/types';
import { estimateNesting } from './nesting.ts';

export const MAX_SQL_BYTES = 1 << 20;
export const MAX_NESTING = 1000;

interface PgQueryWasm {
  _malloc(size: number): number;
  _free(ptr: number): void;
  _wasm_parse_query_raw(ptr: number): number;
  _wasm_free_parse_result(ptr: number): void;
  _wasm_fingerprint(ptr: number): number;
  _wasm_normalize_query(ptr: number): number;
  _wasm_parse_plpgsql(ptr: number): number;
  _wasm_free_string(ptr: number): void;
  getValue(ptr: number, type: 'i32'): number;
  UTF8ToString(ptr: number): string;
  HEAPU8: Uint8Array;
}

/** The parts of the WebAssembly API used here (the project's TypeScript libraries do not declare it). */
interface WasmApi {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: object): Promise<object>;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface FactoryOptions {
  instantiateWasm(imports: object, done: (instance: object) => void): object;
}

const require = createRequire(import.meta.url);
const factory = require('libpg-query/wasm/libpg-query.js') as (options?: FactoryOptions) => Promise<PgQueryWasm>;
const wasmPath = require.resolve('libpg-query/wasm/libpg-query.wasm');

/** The WASM code is compiled once; each instance (the active one, each spare) only instantiates it. */
let compiled: Promise<object> | null = null;

function createInstance(): Promise<PgQueryWasm> {
  compiled ??= readFile(wasmPath).then((bytes) => wasm.compile(bytes));
  return compiled.then((module) =>
    factory({
      instantiateWasm(imports, done) {
        void wasm.instantiate(module, imports).then(done);
        return {};
      },
    }),
  );
}

let active: PgQueryWasm | null = null;
let spare: PgQueryWasm | null = null;
let spareLoading: Promise<void> | null = null;
let retired = 0;

function loadSpare(): void {
  if (spare !== null || spareLoading !== null) return;
  spareLoading = createInstance().then(
    (m) => {
      spareLoading = null;
      if (active === null) active = m;
      else spare = m;
      if (spare === null) loadSpare();
    },
    () => {
      spareLoading = null;
    },
  );
}

/** Loads the parser (and a spare instance in the background). Idempotent. */
export async function loadParser(): Promise<void> {
  if (active === null) active = await createInstance();
  loadSpare();
}

/** Resolves once an active and a spare instance are both loaded (for tests and start-up). */
export async function parserReady(): Promise<void> {
  await loadParser();
  while (spareLoading !== null) await spareLoading;
  if (spare === null) {
    loadSpare();
    while (spareLoading !== null) await spareLoading;
  }
}

/** How many instances were retired after a failure inside the WASM module. */
export function retiredInstances(): number {
  return retired;
}

function retire(): void {
  retired++;
  active = spare;
  spare = null;
  loadSpare();
}

await loadParser();

export interface ParseError {
  message: string;
  /** offset in the text (UTF-16 code units), 0 when unknown */
  position: number;
}

export type ParseOutcome = { tree: ParseResult; error?: undefined } | { tree?: undefined; error: ParseError };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads a NUL-terminated UTF-8 string out of WASM memory. */
function readString(m: PgQueryWasm, ptr: number): string {
  const heap = m.HEAPU8;
  const end = heap.indexOf(0, ptr);
  return decoder.decode(heap.subarray(ptr, end < 0 ? heap.length : end));
}

/** Copies the text into WASM memory, NUL-terminated. */
function writeString(m: PgQueryWasm, text: string): number {
  const bytes = Buffer.byteLength(text, 'utf8');
  const ptr = m._malloc(bytes + 1);
  const heap = m.HEAPU8;
  encoder.encodeInto(text, heap.subarray(ptr, ptr + bytes));
  heap[ptr + bytes] = 0;
  return ptr;
}

/** The UTF-16 offset of the n-th code point (PostgreSQL reports error positions in characters). */
function codePointOffset(text: string, n: number): number {
  let i = 0;
  let cp = 0;
  while (i < text.length && cp < n) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < text.length ? 2 : 1;
    cp++;
  }
  return i;
}

/** Why the text must not reach the parser, or null. */
export function refuseText(text: string): string | null {
  if (text.length > MAX_SQL_BYTES || (text.length > MAX_SQL_BYTES / 3 && Buffer.byteLength(text, 'utf8') > MAX_SQL_BYTES))
    return `statement text exceeds ${MAX_SQL_BYTES} bytes`;
  if (text.indexOf('\u0000') !== -1) return 'statement text contains a NUL character';
  if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed()) return 'statement text is not well-formed Unicode';
  if (text.length > MAX_NESTING && estimateNesting(text, MAX_NESTING) > MAX_NESTING) return `statement nests deeper than ${MAX_NESTING} levels`;
  return null;
}

export function parseSql(text: string): ParseOutcome {
  const refused = refuseText(text);
  if (refused !== null) return { error: { message: refused, position: 0 } };
  return parseChecked(text);
}

/**
 * Tests only: parses without the refusals above, to exercise what happens when the WASM module
 * fails (the instance is retired and the spare takes over). Never use it on untrusted text.
 */
export function parseSqlUnguardedForTests(text: string): ParseOutcome {
  return parseChecked(text);
}

function parseChecked(text: string): ParseOutcome {
  if (text.length === 0) return { tree: { version: 0, stmts: [] } };
  const m = active;
  if (m === null) return { error: { message: 'the SQL parser is not available', position: 0 } };
  let queryPtr = 0;
  let resultPtr = 0;
  try {
    queryPtr = writeString(m, text);
    resultPtr = m._wasm_parse_query_raw(queryPtr);
    if (resultPtr === 0) throw new Error('no parse result');
    const treePtr = m.getValue(resultPtr, 'i32');
    const errorPtr = m.getValue(resultPtr + 8, 'i32');
    if (errorPtr !== 0) {
      const messagePtr = m.getValue(errorPtr, 'i32');
      const message = messagePtr !== 0 ? readString(m, messagePtr) : 'syntax error';
      const cursor = m.getValue(errorPtr + 16, 'i32');
      const position = cursor > 0 ? codePointOffset(text, cursor - 1) : 0;
      return { error: { message, position } };
    }
    if (treePtr === 0) throw new Error('no parse tree');
    return { tree: JSON.parse(readString(m, treePtr)) as ParseResult };
  } catch (e) {
    // A trap or stack overflow inside the module: the instance can no longer be trusted.
    queryPtr = 0;
    resultPtr = 0;
    retire();
    return { error: { message: `the SQL parser failed: ${(e as Error).message}`, position: 0 } };
  } finally {
    if (resultPtr !== 0) m._wasm_free_parse_result(resultPtr);
    if (queryPtr !== 0) m._free(queryPtr);
  }
}

/**
 * A libpg_query call on the text that returns a string it allocates (freed here): the string
 * ('' when it returned none), or null when there is no parser or the module failed (the
 * instance is then retired and the spare takes over).
 */
function stringCall(text: string, call: (m: PgQueryWasm, queryPtr: number) => number): string | null {
  const m = active;
  if (m === null) return null;
  let queryPtr = 0;
  let resultPtr = 0;
  try {
    queryPtr = writeString(m, text);
    resultPtr = call(m, queryPtr);
    return resultPtr !== 0 ? readString(m, resultPtr) : '';
  } catch {
    queryPtr = 0;
    resultPtr = 0;
    retire();
    return null;
  } finally {
    if (resultPtr !== 0) m._wasm_free_string(resultPtr);
    if (queryPtr !== 0) m._free(queryPtr);
  }
}

const PLPGSQL = (m: PgQueryWasm, ptr: number) => m._wasm_parse_plpgsql(ptr);
const FINGERPRINT_CALL = (m: PgQueryWasm, ptr: number) => m._wasm_fingerprint(ptr);
const NORMALIZE = (m: PgQueryWasm, ptr: number) => m._wasm_normalize_query(ptr);

/**
 * libpg_query's PL/pgSQL tree of the DO blocks and CREATE FUNCTION … LANGUAGE plpgsql
 * statements of the text (its JSON: `{ plpgsql_funcs: [...] }`), or why there is none.
 */
export function parsePlpgsql(text: string): { tree: unknown; error?: undefined } | { tree?: undefined; error: string } {
  const refused = refuseText(text);
  if (refused !== null) return { error: refused };
  const result = stringCall(text, PLPGSQL);
  if (result === null) return { error: 'the SQL parser failed' };
  // success is a JSON object; anything else is the parser's error message
  if (!result.startsWith('{')) return { error: result || 'the PL/pgSQL body does not parse' };
  return { tree: JSON.parse(result) as unknown };
}

const FINGERPRINT = /^[0-9a-f]{16}$/;

/** libpg_query's fingerprint of the text, or '' when it does not parse. */
export function fingerprintSql(text: string): string {
  if (refuseText(text) !== null || text.length === 0) return '';
  const result = stringCall(text, FINGERPRINT_CALL);
  return result !== null && FINGERPRINT.test(result) ? result : '';
}

/** How libpg_query's normalize reports a failure instead of a text. */
const NORMALIZE_FAILED = /^(syntax error|deparse error|ERROR)/;

/**
 * libpg_query's normalized text: the statement with each constant the parser found (and a few
 * option strings) replaced by `$n`, everything else verbatim. Null when the text is refused, does
 * not parse, or the module fails. Costs about half a parse: the raw parse without the JSON tree.
 */
export function normalizeSql(text: string): string | null {
  if (text.length === 0 || refuseText(text) !== null) return null;
  const result = stringCall(text, NORMALIZE);
  return result === null || result === '' || NORMALIZE_FAILED.test(result) ? null : result;
}
