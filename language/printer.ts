// The canonical printer (`pamc fmt`): AST + comments → text.
//
// Layout: two spaces per level; one setting or rule per line; a blank line between top-level
// items; at most one blank line between settings, rules and comments inside a block, where the
// source had one or more; `on` always before resources; `, ` between list items; strings with
// canonical escapes.
//
// Comments: the printed file is a list of elements in source order (leaf lines such as a rule,
// block headers, closing braces). A comment on the same line as the element before it stays at
// the end of that element's line; a comment on its own line goes before the next element at that
// element's indentation (before a `}` it stays inside the block, after the last item it stays at
// the end); a comment inside a multi-line element (between two of its tokens) goes before it.

import type * as A from './ast.ts';
import type { Span } from './diagnostic.ts';
import { quoteString } from './lexer.ts';
import { lineOfOffset } from './source.ts';

// ---------------------------------------------------------------------------------------------
// Text of the parts

function ident(i: A.Ident): string {
  return i.quoted ? quoteString(i.value) : i.value;
}

function str(s: A.StringLit): string {
  return quoteString(s.value);
}

function path(p: A.Path): string {
  return p.parts.map((x) => (x.kind === 'Star' ? '*' : ident(x))).join('.');
}

function resource(r: A.Resource): string {
  return r.objectKind ? `${ident(r.objectKind)} ${path(r.path)}` : path(r.path);
}

function secret(s: A.SecretRef): string {
  return s.source === 'literal' ? str(s.value) : `${s.source} ${str(s.value)}`;
}

function list<X>(xs: readonly X[], f: (x: X) => string): string {
  return xs.map(f).join(', ');
}

function identitySetting(s: A.IdentitySetting): string {
  switch (s.kind) {
    case 'Issuer':
      return `issuer ${str(s.value)}`;
    case 'Audience':
      return `audience ${list(s.values, str)}`;
    case 'Jwks':
      return `jwks ${s.source} ${str(s.value)}`;
    case 'ClaimMapping':
      return `${s.field} claim ${str(s.claim)}`;
    case 'Algorithms':
      return `algorithms ${list(s.values, ident)}`;
    case 'ClockSkew':
      return `clock_skew ${s.value.text}`;
  }
}

function tlsOption(o: A.TlsOption): string {
  switch (o.kind) {
    case 'TlsCert':
      return `cert ${str(o.value)}`;
    case 'TlsKey':
      return `key ${secret(o.secret)}`;
    case 'TlsCa':
      return `ca ${str(o.value)}`;
  }
}

function targetSetting(s: Exclude<A.TargetSetting, { kind: 'Masking' }>): string {
  switch (s.kind) {
    case 'Host':
      return `host ${str(s.value)}`;
    case 'Port':
      return `port ${s.value.text}`;
    case 'Database':
      return `database ${str(s.value)}`;
    case 'Server':
      return `server ${str(s.value)}`;
    case 'Listen':
      return `listen ${str(s.value)}`;
    case 'Login':
      return [`login user ${str(s.user)}`, ...s.credentials.map((c) => `${ident(c.name)} ${secret(c.secret)}`)].join(' ');
    case 'Tls':
      return [s.upstream ? 'upstream tls' : 'tls', s.mode.value, ...s.options.map(tlsOption)].join(' ');
    case 'Embedded':
      return s.seed ? `embedded seed ${str(s.seed)}` : 'embedded';
    case 'SearchPath':
      return `search_path ${list(s.schemas, ident)}`;
  }
}

function maskingOption(o: A.MaskingOption): string {
  return o.kind === 'HashKey' ? `hash_key ${secret(o.secret)}` : `${ident(o.name)} ${ident(o.value)}`;
}

function auditSetting(s: A.AuditSetting): string {
  switch (s.kind) {
    case 'AuditDir':
      return `dir ${str(s.value)}`;
    case 'AuditKey':
      return `key ${secret(s.secret)}`;
    case 'Rotate': {
      const parts = ['rotate'];
      if (s.size) parts.push(`size ${s.size.text}`);
      if (s.every) parts.push(`every ${s.every.text}`);
      return parts.join(' ');
    }
    case 'Checkpoint': {
      const intervals: string[] = [];
      if (s.every) intervals.push(s.every.text);
      if (s.records) intervals.push(`${s.records.text} records`);
      return `checkpoint every ${intervals.join(', ')}`;
    }
    case 'OnFailure':
      return `on_failure ${ident(s.value)}`;
    case 'Forward': {
      let out = `forward url ${str(s.url)}`;
      if (s.token) out += ` token ${secret(s.token)}`;
      if (s.ca) out += ` ca ${str(s.ca)}`;
      return out;
    }
  }
}

function approvalsSetting(s: A.ApprovalsSetting): string {
  switch (s.kind) {
    case 'Webhook': {
      let out = `webhook url ${secret(s.url)}`;
      if (s.secret) out += ` secret ${secret(s.secret)}`;
      if (s.format) out += ` format ${ident(s.format)}`;
      return out;
    }
    case 'Api': {
      const parts = ['api'];
      if (s.listen) parts.push(`listen ${str(s.listen)}`);
      if (s.url) parts.push(`url ${str(s.url)}`);
      if (s.cert) parts.push(`cert ${str(s.cert)}`);
      if (s.key) parts.push(`key ${secret(s.key)}`);
      return parts.join(' ');
    }
    case 'ApprovalsDir':
      return `dir ${str(s.value)}`;
  }
}

function condition(c: A.Condition): string {
  switch (c.kind) {
    case 'Property':
      return (c.negated ? 'not ' : '') + ident(c.name);
    case 'During': {
      const parts = ['during'];
      if (c.days) parts.push(c.days.kind === 'DayRange' ? `${ident(c.days.from)}-${ident(c.days.to)}` : list(c.days.days, ident));
      if (c.from && c.to) parts.push(`${c.from.text}-${c.to.text}`);
      if (c.tz) parts.push(`tz ${str(c.tz)}`);
      return parts.join(' ');
    }
    case 'Claim':
      if (c.op === '=' || c.op === '!=') return `claim ${str(c.claim)} ${c.op} ${str(c.values[0] ?? { kind: 'String', value: '', span: c.span })}`;
      return `claim ${str(c.claim)} ${c.op} [${list(c.values, str)}]`;
  }
}

function rule(r: A.Rule): string {
  switch (r.kind) {
    case 'Access': {
      let s = `${r.effect} ${list(r.actions, ident)}`;
      if (r.resources.length > 0) s += ` on ${list(r.resources, resource)}`;
      if (r.conditions.length > 0) s += ` when ${r.conditions.map(condition).join(' and ')}`;
      const a = r.approval;
      if (a) {
        s += ` by ${str(a.by)}`;
        if (a.quorum) s += ` quorum ${a.quorum.text}`;
        if (a.within) s += ` within ${a.within.text}`;
        if (a.mode) s += ` mode ${ident(a.mode)}`;
        if (a.uses) s += ` uses ${a.uses.text}`;
      }
      return s;
    }
    case 'Mask': {
      const arg = r.strategy.argument ? `(${r.strategy.argument.text})` : '';
      return `mask ${list(r.columns, path)} with ${ident(r.strategy.name)}${arg}`;
    }
    case 'Limit':
      return `limit rows ${r.rows.text}`;
  }
}

// ---------------------------------------------------------------------------------------------
// The layout tree

interface Placed {
  /** comments printed on their own lines before the element, in source order */
  before: A.Comment[];
  /** which of `before` were moved out of the element (printed with no blank line after them) */
  hoisted: Set<A.Comment>;
  trailing?: A.Comment;
}

interface Leaf extends Placed {
  kind: 'leaf';
  text: string;
  span: Span;
}

interface Block extends Placed {
  kind: 'block';
  header: string;
  /** from the block's first token to the last token before `{` */
  headerSpan: Span;
  children: Entry[];
  close: Leaf;
}

type Entry = Leaf | Block;

function placed(): Placed {
  return { before: [], hoisted: new Set() };
}

function leaf(text: string, span: Span): Leaf {
  return { kind: 'leaf', text, span, ...placed() };
}

function block(header: string, span: Span, headerEnd: number, children: Entry[]): Block {
  const closeStart = Math.max(headerEnd, span.end - 1);
  return {
    kind: 'block',
    header,
    headerSpan: { start: span.start, end: headerEnd },
    children,
    close: leaf('}', { start: closeStart, end: Math.max(closeStart, span.end) }),
    ...placed(),
  };
}

function onBlock(b: A.OnBlock): Block {
  const last = b.targets[b.targets.length - 1];
  return block(
    `on ${list(b.targets, ident)} {`,
    b.span,
    last ? last.span.end : b.span.start + 2,
    b.rules.map((r) => leaf(rule(r), r.span)),
  );
}

function itemEntry(it: A.Item): Entry {
  switch (it.kind) {
    case 'Policy':
      return leaf(`policy ${str(it.name)}`, it.span);
    case 'Set':
      return leaf(`set ${ident(it.name)} = [${list(it.members, resource)}]`, it.span);
    case 'Identity':
      return block(
        'identity {',
        it.span,
        it.span.start + 'identity'.length,
        it.settings.map((s) => leaf(identitySetting(s), s.span)),
      );
    case 'Target':
      return block(
        `target ${ident(it.name)}: ${ident(it.targetKind)} {`,
        it.span,
        it.targetKind.span.end,
        it.settings.map((s) =>
          s.kind === 'Masking'
            ? block('masking {', s.span, s.span.start + 'masking'.length, s.options.map((o) => leaf(maskingOption(o), o.span)))
            : leaf(targetSetting(s), s.span),
        ),
      );
    case 'Group':
      return block(`group ${str(it.name)} {`, it.span, it.name.span.end, it.blocks.map(onBlock));
    case 'On':
      return onBlock(it);
    case 'Audit':
      return block('audit {', it.span, it.span.start + 'audit'.length, it.settings.map((s) => leaf(auditSetting(s), s.span)));
    case 'Approvals':
      return block(
        'approvals {',
        it.span,
        it.span.start + 'approvals'.length,
        it.settings.map((s) => leaf(approvalsSetting(s), s.span)),
      );
  }
}

// ---------------------------------------------------------------------------------------------
// Placing comments

/** A line of the printed layout that a comment can attach to. */
interface Slot {
  start: number;
  end: number;
  /** where a comment found inside it or after it goes */
  owner: Placed;
  /** the entry that own-line comments before this slot are printed before */
  next: Placed;
}

function slots(entries: Entry[], out: Slot[]): void {
  for (const e of entries) {
    if (e.kind === 'leaf') out.push({ start: e.span.start, end: e.span.end, owner: e, next: e });
    else {
      out.push({ start: e.headerSpan.start, end: e.headerSpan.end, owner: e, next: e });
      slots(e.children, out);
      out.push({ start: e.close.span.start, end: e.close.span.end, owner: e.close, next: e.close });
    }
  }
}

function placeComments(entries: Entry[], comments: readonly A.Comment[], lineStarts: readonly number[] | undefined, end: Placed): void {
  const all: Slot[] = [];
  slots(entries, all);
  all.sort((a, b) => a.start - b.start);
  const line = (o: number): number => (lineStarts ? lineOfOffset(lineStarts, o) : -1);
  for (const c of [...comments].sort((a, b) => a.span.start - b.span.start)) {
    const at = c.span.start;
    // the last slot starting before the comment
    let lo = 0;
    let hi = all.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (all[mid].start < at) lo = mid + 1;
      else hi = mid;
    }
    const prev = lo > 0 ? all[lo - 1] : undefined;
    const next = lo < all.length ? all[lo] : undefined;
    if (prev !== undefined && prev.end > at) {
      // inside a multi-line element
      prev.next.before.push(c);
      prev.next.hoisted.add(c);
    } else if (prev !== undefined && lineStarts && line(Math.max(prev.start, prev.end - 1)) === line(at) && prev.owner.trailing === undefined) {
      prev.owner.trailing = c;
    } else if (next !== undefined) {
      next.next.before.push(c);
    } else {
      end.before.push(c);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Printing

interface Line {
  indent: number;
  text: string;
  /** source range, for keeping blank lines (undefined: keep none before it) */
  src?: Span;
  noBlankAfter?: boolean;
}

class Writer {
  readonly out: string[] = [];
  private prev: Line | undefined;

  constructor(private readonly lineStarts: readonly number[] | undefined) {}

  private line(o: number): number {
    return this.lineStarts ? lineOfOffset(this.lineStarts, o) : 0;
  }

  /** Whether the source had a blank line between the previous line and `next`. */
  private sourceBlank(next: Line): boolean {
    const p = this.prev;
    if (!this.lineStarts || !p || !p.src || !next.src || p.noBlankAfter) return false;
    return this.line(next.src.start) - this.line(Math.max(p.src.start, p.src.end - 1)) >= 2;
  }

  /** blank: 'always' | 'never' | 'source' (keep one where the source had one or more) */
  emit(l: Line, blank: 'always' | 'never' | 'source'): void {
    if (this.out.length > 0 && (blank === 'always' || (blank === 'source' && this.sourceBlank(l)))) this.out.push('');
    this.out.push('  '.repeat(l.indent) + l.text);
    this.prev = l;
  }
}

function withTrailing(text: string, p: Placed): string {
  return p.trailing ? `${text} ${p.trailing.text}` : text;
}

type Blank = 'always' | 'never' | 'source';

function emitBefore(w: Writer, p: Placed, indent: number, first: Blank, anchor: number): Blank {
  let blank = first;
  for (const c of p.before) {
    const hoisted = p.hoisted.has(c);
    w.emit({ indent, text: c.text, src: hoisted ? { start: anchor, end: anchor } : c.span, noBlankAfter: hoisted }, blank);
    blank = 'source';
  }
  return p.before.length > 0 ? 'source' : first;
}

function emitEntry(w: Writer, e: Entry, indent: number, first: 'always' | 'never' | 'source'): void {
  const start = e.kind === 'leaf' ? e.span.start : e.headerSpan.start;
  const blank = emitBefore(w, e, indent, first, start);
  if (e.kind === 'leaf') {
    w.emit({ indent, text: withTrailing(e.text, e), src: e.span }, blank);
    return;
  }
  const empty = e.children.length === 0 && e.close.before.length === 0 && e.trailing === undefined;
  if (empty) {
    w.emit({ indent, text: withTrailing(e.header + '}', e.close), src: { start: e.headerSpan.start, end: e.close.span.end } }, blank);
    return;
  }
  w.emit({ indent, text: withTrailing(e.header, e), src: e.headerSpan }, blank);
  let inner: Blank = 'never';
  for (const child of e.children) {
    emitEntry(w, child, indent + 1, inner);
    inner = 'source';
  }
  emitBefore(w, e.close, indent + 1, inner, e.close.span.start);
  w.emit({ indent, text: withTrailing('}', e.close), src: e.close.span }, 'never');
}

/** Prints a policy file in canonical form. */
export function printPolicy(file: A.PolicyFile): string {
  const entries = file.items.map(itemEntry);
  const end = placed();
  placeComments(entries, file.comments, file.lineStarts, end);
  const w = new Writer(file.lineStarts);
  let first = true;
  for (const e of entries) {
    emitEntry(w, e, 0, first ? 'never' : 'always');
    first = false;
  }
  let blank: 'always' | 'never' | 'source' = 'source';
  for (const c of end.before) {
    w.emit({ indent: 0, text: c.text, src: c.span }, blank);
    blank = 'source';
  }
  return w.out.length === 0 ? '' : w.out.join('\n') + '\n';
}
