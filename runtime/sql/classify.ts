// SQL text → classified statements (facts.ts). spec/facts.md is the normative table of what each
// statement kind yields.
//
//   classify(sql, ctx)        parse and classify, no cache
//   classifyCached(sql, ctx)  the same through a bounded LRU cache keyed by (search path, text)
//
// Fail closed: text that does not parse, is too large or too deep, node types or fields the
// walker does not know, names it cannot resolve: each yields a `forbidden` fact.

import type { ParseResult } from '@pgsql/types';
import { LruCache } from './cache.ts';
import type { Classification, ClassifiedStatement, ClassifyContext, Fact, SessionEffect } from './facts.ts';
import { FORBIDDEN } from './facts.ts';
import { HANDLERS } from './handlers.ts';
import { lexicalKey, type LexicalKey } from './lexical-key.ts';
import { fingerprintSql, normalizeSql, parseSql, refuseText } from './parser.ts';
import { parseSearchPath } from './settings.ts';
import { statementLimited } from './statements/dml.ts';
import { probeConstants, TEMPLATE_KINDS } from './templates.ts';
import { fact, forbid, walkTyped, type Obj, type Walker } from './walk.ts';

export const DEFAULT_CONTEXT: ClassifyContext = { searchPath: ['public'] };

/** Nested SQL (function bodies, query strings inside string literals) deeper than this is forbidden. */
const MAX_NESTED_TEXT = 8;

const WRITE_ACTIONS = new Set(['insert', 'update', 'delete', 'merge', 'truncate', 'copy_in']);

interface StatementInfo {
  text: string;
  location: number;
  length: number;
}

/** A classified statement whose fingerprint is computed when first read. */
class Statement implements ClassifiedStatement {
  #fingerprint: string | undefined;
  constructor(
    public text: string,
    public location: number,
    public length: number,
    public nodeType: string,
    public facts: Fact[],
    public limited: boolean,
    public effects: SessionEffect[],
  ) {}

  get fingerprint(): string {
    if (this.#fingerprint === undefined) this.#fingerprint = this.nodeType === 'ParseError' ? '' : fingerprintSql(this.text);
    return this.#fingerprint;
  }

  /** This statement with other facts; the fingerprint (of the same text) is kept. */
  withFacts(facts: Fact[], limited: boolean): Statement {
    const s = new Statement(this.text, this.location, this.length, this.nodeType, facts, limited, this.effects);
    s.#fingerprint = this.#fingerprint;
    return s;
  }

  toJSON(): ClassifiedStatement {
    const { text, location, length, nodeType, facts, limited, fingerprint, effects } = this;
    return { text, location, length, nodeType, facts, limited, fingerprint, effects };
  }
}

/**
 * A copy of a classified statement with other facts (the gateway adds what a FETCH's cursor or an
 * EXECUTE's prepared statement reads). An object spread would drop the fingerprint, a getter.
 */
export function withFacts(st: ClassifiedStatement, facts: Fact[], limited: boolean = st.limited): ClassifiedStatement {
  return st instanceof Statement ? st.withFacts(facts, limited) : { ...st, facts, limited };
}

function makeStatement(
  info: StatementInfo,
  nodeType: string,
  facts: Fact[],
  effects: SessionEffect[],
  limited: boolean,
): ClassifiedStatement {
  return new Statement(info.text, info.location, info.length, nodeType, facts, limited, effects);
}

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/** Trims whitespace and a final semicolon; returns the trimmed range of text[start, end). */
function trimStatement(text: string, start: number, end: number): [number, number] {
  let s = start;
  let e = end;
  while (s < e && isSpace(text.charCodeAt(s))) s++;
  while (e > s && isSpace(text.charCodeAt(e - 1))) e--;
  if (e > s && text.charCodeAt(e - 1) === 59) {
    e--;
    while (e > s && isSpace(text.charCodeAt(e - 1))) e--;
  }
  return [s, e];
}

/** Converts UTF-8 byte offsets of the parser into string offsets (identity for ASCII text). */
function offsetMapper(text: string): (byteOffset: number) => number {
  if (Buffer.byteLength(text, 'utf8') === text.length) return (b) => b;
  const bytes = Buffer.from(text, 'utf8');
  return (b) => bytes.subarray(0, b).toString('utf8').length;
}

function errorClassification(sql: string, message: string, position: number): Classification {
  const [s, e] = trimStatement(sql, 0, sql.length);
  const statement = new Statement(sql.slice(s, e), s, e - s, 'ParseError', [{ action: FORBIDDEN, resource: '', detail: message }], false, []);
  return { statements: [statement], error: { message, position } };
}

interface Run {
  ctx: ClassifyContext;
  /** a search_path reset earlier in the text returned to a value the context does not give */
  searchPathUnknown: boolean;
  prepared: Map<string, ClassifiedStatement | null>;
  preparedCleared: boolean;
  usedSessionPrepared: boolean;
  nesting: number;
}

/** Classifies SQL found inside a statement (function bodies, query strings); no session state. */
function classifyNested(text: string, ctx: ClassifyContext, nesting: number): ClassifiedStatement[] {
  if (nesting >= MAX_NESTED_TEXT) return errorClassification(text, 'SQL nested in strings too deeply', 0).statements;
  return classifyRun(text, {
    ctx: { searchPath: ctx.searchPath },
    searchPathUnknown: false,
    prepared: new Map(),
    preparedCleared: true,
    usedSessionPrepared: false,
    nesting: nesting + 1,
  }).statements;
}

function classifyRun(sql: string, run: Run): Classification {
  const parsed = parseSql(sql);
  if (parsed.error !== undefined) return errorClassification(sql, parsed.error.message, parsed.error.position);
  return classifyStatements(sql, parsed.tree, run);
}

/**
 * Classifies a parse tree of `sql` (as parseSql returned it). For callers that already parsed,
 * and for tests that hand the walker trees the parser would not produce.
 */
export function classifyTree(sql: string, tree: ParseResult, ctx: ClassifyContext = DEFAULT_CONTEXT): Classification {
  return classifyStatements(sql, tree, { ctx, searchPathUnknown: false, prepared: new Map(), preparedCleared: false, usedSessionPrepared: false, nesting: 0 });
}

function classifyStatements(sql: string, tree: ParseResult, run: Run): Classification {
  const stmts = tree.stmts ?? [];
  const toOffset = offsetMapper(sql);
  const statements: ClassifiedStatement[] = [];
  for (const raw of stmts) {
    const start = toOffset(raw.stmt_location ?? 0);
    const end = raw.stmt_len !== undefined && raw.stmt_len > 0 ? toOffset((raw.stmt_location ?? 0) + raw.stmt_len) : sql.length;
    const [s, e] = trimStatement(sql, start, end);
    const info = { text: sql.slice(s, e), location: s, length: e - s };
    const node = raw.stmt as unknown as Obj | undefined;
    let nodeType = 'unknown';
    for (const k in node ?? {}) nodeType = k;
    const w: Walker = {
      ctx: run.ctx,
      handlers: HANDLERS,
      facts: [],
      effects: [],
      depth: 0,
      cteScopes: [],
      prepared: run.prepared,
      preparedCleared: run.preparedCleared,
      usedSessionPrepared: false,
      deferred: 0,
      executedLimited: null,
      creationSchema: null,
      tooDeep: false,
      classifyText: classifyNested,
      nesting: run.nesting,
      statement: info,
      makeStatement,
    };
    const body = node?.[nodeType] as Obj | undefined;
    if (node === undefined || body === undefined) forbid(w, 'an empty statement node');
    else {
      try {
        walkTyped(w, nodeType, body);
      } catch (e) {
        // a JavaScript stack overflow or a malformed tree: never let it through
        forbid(w, `the classifier failed: ${(e as Error).message}`);
      }
    }
    if (run.searchPathUnknown)
      forbid(w, 'an earlier statement of this text reset search_path to a value the gateway did not give');
    followSearchPath(run, w.effects);
    for (const f of w.facts)
      if (WRITE_ACTIONS.has(f.action) && f.resource === 'pg_catalog.pg_settings') {
        forbid(w, 'writing to pg_catalog.pg_settings changes settings');
        break;
      }
    // pg_settings holds every setting's value, the secret ones included: reading it is SHOW ALL
    if (w.facts.some((f) => (f.action === 'select' || f.action === 'copy_out') && f.resource === 'pg_catalog.pg_settings')) fact(w, 'show', 'all');
    run.preparedCleared = w.preparedCleared;
    run.usedSessionPrepared ||= w.usedSessionPrepared;
    const limited = w.executedLimited ?? (body !== undefined && statementLimited(nodeType, body));
    statements.push(new Statement(info.text, info.location, info.length, nodeType, w.facts, limited, w.effects));
  }
  return { statements };
}

/**
 * A later statement of the same text may resolve names with the search path an earlier one set:
 * `SET search_path = evil, pg_catalog; SELECT lower(x)` calls evil.lower. It may also not: the
 * SET can be rolled back (`BEGIN; SET …; ROLLBACK`, `ROLLBACK TO` a savepoint), be LOCAL to a
 * transaction that ends, or never run (`SELECT set_config('search_path', …) WHERE false`). So the
 * path widens, as the session's does: the statements after it are decided for every schema either
 * path could resolve a name in.
 */
function followSearchPath(run: Run, effects: readonly SessionEffect[]): void {
  const widen = (parts: readonly string[]) => {
    const path = [...run.ctx.searchPath];
    for (const p of parts) if (!path.includes(p)) path.push(p);
    if (path.length !== run.ctx.searchPath.length) run.ctx = { ...run.ctx, searchPath: path };
  };
  for (const e of effects) {
    const reset =
      e.kind === 'reset_all' || (e.kind === 'discard' && e.what === 'ALL') || (e.kind === 'set' && e.setting === 'search_path' && e.value === null);
    if (e.kind === 'set' && e.setting === 'search_path' && e.value !== null) {
      widen(parseSearchPath(e.value));
    } else if (reset) {
      if (run.ctx.defaultSearchPath !== undefined) widen(run.ctx.defaultSearchPath);
      else run.searchPathUnknown = true;
    }
  }
}

/** Classifies SQL text (one or more statements) in a session context. */
export function classify(sql: string, ctx: ClassifyContext = DEFAULT_CONTEXT): Classification {
  return classifyRun(sql, { ctx, searchPathUnknown: false, prepared: new Map(), preparedCleared: false, usedSessionPrepared: false, nesting: 0 });
}

/** Classifications are cached only for texts up to this length. */
export const MAX_CACHED_TEXT = 64 * 1024;

let cache = new LruCache<Classification>(4096, 16 * 1024 * 1024);

/** Replaces the caches (tests; a gateway that wants another size); `templates: false` turns templates off. */
export function configureCache(maxEntries: number, maxChars: number, options: { templates?: boolean } = {}): void {
  cache = new LruCache<Classification>(maxEntries, maxChars);
  templates = new LruCache<Template | typeof UNSHAREABLE>(maxEntries, maxChars);
  lexicalTemplates = new LruCache<LexicalTemplate>(maxEntries, maxChars);
  templatesOn = options.templates ?? true;
}

export function cacheStats(): { entries: number; chars: number; templates: number; templateHits: number; lexicalHits: number } {
  return { entries: cache.size, chars: cache.chars, templates: templates.size + lexicalTemplates.size, templateHits, lexicalHits };
}

/** A shared classification (templates.ts): what every text of a normalized key yields. */
interface Template {
  nodeType: string;
  facts: Fact[];
  limited: boolean;
}

/** Texts longer than this are not looked up as templates (normalizing costs what it saves). */
export const MAX_TEMPLATE_TEXT = 4096;

/**
 * Normalize writes constants as `$n`, as the text's own parameters are written: a text that
 * may hold a parameter (`$` and a digit anywhere, strings and comments included) takes no
 * template and makes none, so texts of one key differ only at constants.
 */
const PARAMETER = /\$\d/;

/**
 * Texts whose template would be unshareable anyway (the classifier reads a LIMIT or FETCH FIRST
 * count): classified in full at once, without paying for normalize first. Only a shortcut: a
 * text it misses is found unshareable the long way.
 */
const READS_A_COUNT = /\b(limit|fetch)\b/i;

/** A key whose texts must be classified one by one. */
const UNSHAREABLE = null;

/** A lexical key whose first text's constants were not all constant nodes: its texts take the normalized key. */
const NOT_LEXICAL = 0;

type LexicalTemplate = Template | typeof UNSHAREABLE | typeof NOT_LEXICAL;

let templates = new LruCache<Template | typeof UNSHAREABLE>(4096, 8 * 1024 * 1024);
let lexicalTemplates = new LruCache<LexicalTemplate>(4096, 8 * 1024 * 1024);
let templatesOn = true;
/** texts served by a template, by either key */
let templateHits = 0;
/** of those, texts served through their lexical key */
let lexicalHits = 0;

/**
 * classify() through a bounded LRU cache keyed by the search path and the text, and for a text
 * not seen before, through a template of its normalized text (templates.ts). Results that depend
 * on the session's prepared statements (EXECUTE of a statement prepared earlier) are not cached.
 * The returned objects are shared: treat them as immutable.
 */
export function classifyCached(sql: string, ctx: ClassifyContext = DEFAULT_CONTEXT): Classification {
  const path = ctx.searchPath;
  let context = path.length === 1 ? path[0]! : path.join('\u0001');
  if (ctx.user !== undefined || ctx.defaultSearchPath !== undefined)
    context += `\u0002${ctx.user ?? ''}\u0002${(ctx.defaultSearchPath ?? ['\u0003']).join('\u0001')}`;
  const key = context + '\u0000' + sql;
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  const { result, cacheable } = templatesOn && sql.length <= MAX_TEMPLATE_TEXT && !PARAMETER.test(sql) && !READS_A_COUNT.test(sql) ? classifyByTemplate(sql, ctx, context) : classifyFresh(sql, ctx);
  if (cacheable && sql.length <= MAX_CACHED_TEXT) cache.set(key, result, key.length);
  return result;
}

/**
 * A classification, and whether it may be cached: not when it used the session's prepared
 * statements, and not when a lexical template gave it (as cheap to find again, and a stream of
 * one-off texts would push out the entries that are seen again).
 */
interface Classified {
  result: Classification;
  cacheable: boolean;
}

function newRun(ctx: ClassifyContext): Run {
  return { ctx, searchPathUnknown: false, prepared: new Map(), preparedCleared: false, usedSessionPrepared: false, nesting: 0 };
}

function classifyFresh(sql: string, ctx: ClassifyContext): Classified {
  const run = newRun(ctx);
  const result = classifyRun(sql, run);
  return { result, cacheable: !run.usedSessionPrepared };
}

/** A new text's classification from a template. */
function fromTemplate(sql: string, t: Template, cacheable: boolean): Classified {
  templateHits++;
  const [s, e] = trimStatement(sql, 0, sql.length);
  return { result: { statements: [new Statement(sql.slice(s, e), s, e - s, t.nodeType, t.facts, t.limited, [])] }, cacheable };
}

/**
 * The classification of a new text from its key's template, making the template if it can. The
 * lexical key (lexical-key.ts) is tried first; a text it does not read, or whose lexical key was
 * found not to stand for constants only, takes libpg_query's normalized text as its key.
 */
function classifyByTemplate(sql: string, ctx: ClassifyContext, context: string): Classified {
  const lexical = lexicalKey(sql);
  if (lexical !== null && refuseText(sql) === null) {
    const lkey = context + '\u0000' + lexical.key;
    const t = lexicalTemplates.get(lkey);
    if (t === undefined) {
      const made = classifyExemplar(sql, ctx, lexical);
      lexicalTemplates.set(lkey, made.lexical, lkey.length);
      return made;
    }
    if (t === UNSHAREABLE) return classifyFresh(sql, ctx);
    if (t !== NOT_LEXICAL) {
      lexicalHits++;
      return fromTemplate(sql, t, false);
    }
  }
  const normalized = normalizeSql(sql);
  if (normalized === null) return classifyFresh(sql, ctx);
  const tkey = context + '\u0000' + normalized;
  const t = templates.get(tkey);
  if (t === UNSHAREABLE) return classifyFresh(sql, ctx);
  if (t !== undefined) return fromTemplate(sql, t, true);
  const made = classifyExemplar(sql, ctx, null);
  templates.set(tkey, made.template, tkey.length);
  return made;
}

/**
 * Classifies the first text of a template key with its constants probed, and says whether the
 * classification stands for every text of the key (templates.ts). With the constants a lexical
 * key found (string offsets), also whether it stands for every text of that key: only when each
 * of them is a constant node of the parse tree (for `-5`, the node starts at the sign) — not the
 * bound of an array type or the precision of float(p), whose values the grammar reads.
 */
function classifyExemplar(
  sql: string,
  ctx: ClassifyContext,
  lexical: LexicalKey | null,
): Classified & { template: Template | typeof UNSHAREABLE; lexical: LexicalTemplate } {
  const parsed = parseSql(sql);
  if (parsed.error !== undefined)
    return { result: errorClassification(sql, parsed.error.message, parsed.error.position), cacheable: true, template: UNSHAREABLE, lexical: UNSHAREABLE };
  const probe = probeConstants(parsed.tree);
  const run = newRun(ctx);
  const result = classifyStatements(sql, parsed.tree, run);
  if (run.usedSessionPrepared) return { result, cacheable: false, template: UNSHAREABLE, lexical: UNSHAREABLE };
  const st = result.statements[0];
  const [s, e] = trimStatement(sql, 0, sql.length);
  const shareable =
    probe !== null &&
    probe.reads === 0 &&
    result.statements.length === 1 &&
    TEMPLATE_KINDS.has(st.nodeType) &&
    st.effects.length === 0 &&
    st.location === s &&
    st.length === e - s;
  const template = shareable ? { nodeType: st.nodeType, facts: st.facts, limited: st.limited } : UNSHAREABLE;
  let byLexicalKey: LexicalTemplate = template;
  if (shareable && lexical !== null) {
    const toOffset = offsetMapper(sql);
    const nodes = new Set(probe.locations.map(toOffset));
    const sign = lexical.signs;
    if (!lexical.constants.every((at, i) => nodes.has(at) || (sign[i] >= 0 && nodes.has(sign[i])))) byLexicalKey = NOT_LEXICAL;
  }
  return { result, cacheable: true, template, lexical: byLexicalKey };
}
