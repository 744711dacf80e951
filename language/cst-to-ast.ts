// CST → AST. After error recovery the CST can have holes: nodes marked `recoveredNode` and
// tokens inserted by the parser (`isInsertedInRecovery`, with no position). This builder never
// throws on such a tree. A rule or setting with a hole is dropped rather than built from what
// is left, so a half-parsed rule can never mean more than was written (a rule whose resource
// list failed must not become "every resource"); the parser has already reported the error.

import { tokenMatcher, type CstElement, type CstNode, type IToken } from 'chevrotain';
import type * as A from './ast.ts';
import { diagnostic, type Diagnostic, type Span } from './diagnostic.ts';
import { decodeString, durationValue, integerValue, sizeValue, timeValue, tokenEnd } from './lexer.ts';
import * as T from './tokens.ts';

type Node = CstNode | undefined;

function isToken(e: CstElement): e is IToken {
  return (e as IToken).image !== undefined;
}

function realToken(t: IToken): boolean {
  return t.isInsertedInRecovery !== true && Number.isFinite(t.startOffset);
}

const NONE: CstElement[] = [];

function elements(n: Node, key: string): CstElement[] {
  return n?.children[key] ?? NONE;
}

/** The real tokens under `key`, in order. */
function toks(n: Node, key: string): IToken[] {
  const es = elements(n, key);
  const out: IToken[] = [];
  for (let i = 0; i < es.length; i++) {
    const e = es[i];
    if (isToken(e) && realToken(e)) out.push(e);
  }
  return out;
}

function tok(n: Node, key: string): IToken | undefined {
  const es = elements(n, key);
  for (let i = 0; i < es.length; i++) {
    const e = es[i];
    if (isToken(e) && realToken(e)) return e;
  }
  return undefined;
}

function nodes(n: Node, key: string): CstNode[] {
  const es = elements(n, key);
  const out: CstNode[] = [];
  for (let i = 0; i < es.length; i++) {
    const e = es[i];
    if (!isToken(e)) out.push(e);
  }
  return out;
}

function node(n: Node, key: string): CstNode | undefined {
  const es = elements(n, key);
  for (let i = 0; i < es.length; i++) {
    const e = es[i];
    if (!isToken(e)) return e;
  }
  return undefined;
}

/** Whether a subtree was recovered or holds an inserted token. */
function hasHoles(n: CstNode): boolean {
  if (n.recoveredNode === true) return true;
  for (const key in n.children) {
    const es = n.children[key];
    for (let i = 0; i < es.length; i++) {
      const e = es[i];
      if (isToken(e) ? !realToken(e) : hasHoles(e)) return true;
    }
  }
  return false;
}

/** Spans of CST nodes, each computed once from its tokens and its children's spans. */
class Spans {
  private readonly memo = new Map<CstNode, Span | null>();

  /** `clean`: no error, so Chevrotain's node locations are exact */
  constructor(private readonly clean: boolean) {}

  of(n: CstNode): Span | undefined {
    const loc = n.location;
    if (this.clean && loc !== undefined && Number.isFinite(loc.startOffset) && Number.isFinite(loc.endOffset)) {
      return { start: loc.startOffset, end: (loc.endOffset as number) + 1 };
    }
    const known = this.memo.get(n);
    if (known !== undefined) return known ?? undefined;
    let start = Infinity;
    let end = -Infinity;
    for (const key in n.children) {
      const es = n.children[key];
      for (let i = 0; i < es.length; i++) {
        const e = es[i];
        if (isToken(e)) {
          if (!realToken(e)) continue;
          if (e.startOffset < start) start = e.startOffset;
          const te = e.startOffset + e.image.length;
          if (te > end) end = te;
        } else {
          const s = this.of(e);
          if (s === undefined) continue;
          if (s.start < start) start = s.start;
          if (s.end > end) end = s.end;
        }
      }
    }
    const span = Number.isFinite(start) ? { start, end } : undefined;
    this.memo.set(n, span ?? null);
    return span;
  }
}

function tspan(t: IToken): Span {
  return { start: t.startOffset, end: tokenEnd(t) };
}

/** Builds a value, or drops it when something needed is missing. */
class Missing extends Error {}

function need<X>(x: X | undefined): X {
  if (x === undefined) throw new Missing();
  return x;
}

// ---------------------------------------------------------------------------------------------
// Leaves

function str(t: IToken | undefined): A.StringLit {
  const s = need(t);
  return { kind: 'String', value: decodeString(s.image).value, span: tspan(s) };
}

function ident(t: IToken | undefined): A.Ident {
  const s = need(t);
  if (s.tokenType === T.StringLiteral) return { kind: 'Ident', value: decodeString(s.image).value, quoted: true, span: tspan(s) };
  return { kind: 'Ident', value: s.image, quoted: false, span: tspan(s) };
}

function integer(t: IToken | undefined): A.IntegerLit {
  const s = need(t);
  return { kind: 'Integer', value: integerValue(s.image).value, text: s.image, span: tspan(s) };
}

function duration(t: IToken | undefined): A.DurationLit {
  const s = need(t);
  return { kind: 'Duration', text: s.image, ms: durationValue(s.image).ms, span: tspan(s) };
}

function size(t: IToken | undefined): A.SizeLit {
  const s = need(t);
  return { kind: 'Size', text: s.image, bytes: sizeValue(s.image).bytes, span: tspan(s) };
}

function time(t: IToken | undefined): A.TimeLit {
  const s = need(t);
  return { kind: 'Time', text: s.image, minutes: timeValue(s.image).minutes, span: tspan(s) };
}

function byOffset(a: IToken, b: IToken): number {
  return a.startOffset - b.startOffset;
}

// ---------------------------------------------------------------------------------------------

class Builder {
  readonly diagnostics: Diagnostic[] = [];
  private readonly spans: Spans;

  constructor(
    private readonly path: string,
    /** no syntax error was reported: the tree has no holes */
    private readonly clean: boolean,
    /** sorted offsets of every lexical and syntax error */
    private readonly errorOffsets: readonly number[],
  ) {
    this.spans = new Spans(clean);
  }

  /** An identifier in a name position; a reserved word the grammar let through is PAM0010. */
  private name(t: IToken | undefined, what: string): A.Ident {
    const id = ident(t);
    if (t !== undefined && tokenMatcher(t, T.Reserved)) {
      this.diagnostics.push(
        diagnostic('PAM0010', 'error', this.path, id.span, `\`${t.image}\` is a reserved word`, {
          help: `expected ${what} here; a reserved word cannot be one`,
        }),
      );
    }
    return id;
  }

  /** Whether an error was met in [start, end). */
  private errorIn(start: number, end: number): boolean {
    const offs = this.errorOffsets;
    if (offs.length === 0) return false;
    let lo = 0;
    let hi = offs.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (offs[mid] < start) lo = mid + 1;
      else hi = mid;
    }
    return lo < offs.length && offs[lo] < end;
  }

  /** Drops a block whose header (from its first token to `{`) holds an error. */
  private header(n: CstNode, open: IToken | undefined): void {
    const brace = need(open);
    const start = this.spans.of(n)?.start ?? brace.startOffset;
    if (this.errorIn(start + 1, brace.startOffset)) throw new Missing();
  }

  /** Builds with `f`, or returns undefined when the subtree has holes or misses a part. */
  private guard<X>(n: CstNode | undefined, f: (n: CstNode) => X, allowHoles = false): X | undefined {
    if (n === undefined) return undefined;
    if (!allowHoles) {
      if (!this.clean && hasHoles(n)) return undefined;
      if (this.errorOffsets.length > 0) {
        const span = this.spans.of(n);
        // an error at the first token belongs to what came before (`}` was expected there);
        // one right after the last token is part of it (`caf` in `café`)
        if (span === undefined || this.errorIn(span.start + 1, span.end + 1)) return undefined;
      }
    }
    try {
      return f(n);
    } catch (e) {
      if (e instanceof Missing) return undefined;
      throw e;
    }
  }

  private span(n: CstNode): Span {
    return need(this.spans.of(n));
  }

  file(cst: CstNode | undefined, textLength: number, comments: A.Comment[]): A.PolicyFile {
    const items: A.Item[] = [];
    for (const it of nodes(cst, 'item')) {
      const built = this.item(it);
      if (built !== undefined) items.push(built);
    }
    return { kind: 'File', path: this.path, items, comments, span: { start: 0, end: textLength } };
  }

  private item(n: CstNode): A.Item | undefined {
    const policy = node(n, 'policyDecl');
    if (policy) return this.guard(policy, (p) => ({ kind: 'Policy', name: str(tok(p, 'StringLiteral')), span: this.span(p) }));
    const identity = node(n, 'identityBlock');
    if (identity) return this.guard(identity, (b) => this.identity(b), true);
    const target = node(n, 'targetDecl');
    if (target) return this.guard(target, (b) => this.target(b), true);
    const set = node(n, 'setDecl');
    if (set) return this.guard(set, (b) => this.set(b));
    const group = node(n, 'groupBlock');
    if (group) return this.guard(group, (b) => this.group(b), true);
    const on = node(n, 'onBlock');
    if (on) return this.guard(on, (b) => this.on(b), true);
    const audit = node(n, 'auditBlock');
    if (audit) return this.guard(audit, (b) => this.audit(b), true);
    const approvals = node(n, 'approvalsBlock');
    if (approvals) return this.guard(approvals, (b) => this.approvals(b), true);
    return undefined;
  }

  // --- audit and approvals

  private audit(n: CstNode): A.AuditBlock {
    need(tok(n, 'Kw_audit'));
    this.header(n, tok(n, 'LCurly'));
    const settings: A.AuditSetting[] = [];
    for (const s of nodes(n, 'auditSetting')) {
      const built = this.guard(s, (x) => this.auditSetting(x));
      if (built !== undefined) settings.push(built);
    }
    return { kind: 'Audit', settings, span: this.span(n) };
  }

  private auditSetting(n: CstNode): A.AuditSetting {
    const span = this.span(n);
    if (tok(n, 'Kw_dir')) return { kind: 'AuditDir', value: str(tok(n, 'StringLiteral')), span };
    if (tok(n, 'Kw_rotate')) {
      this.once(n, 'Kw_size', 'size');
      const everyWords = toks(n, 'Kw_every');
      this.repeated(everyWords, 'every');
      const r: A.AuditSetting & { kind: 'Rotate' } = { kind: 'Rotate', span };
      if (tok(n, 'Kw_size')) r.size = size(tok(n, 'SizeLiteral'));
      if (everyWords.length > 0) r.every = duration(tok(n, 'DurationLiteral'));
      return r;
    }
    if (tok(n, 'Kw_checkpoint')) {
      const c: A.AuditSetting & { kind: 'Checkpoint' } = { kind: 'Checkpoint', span };
      const durations: IToken[] = [];
      const counts: IToken[] = [];
      for (const i of nodes(n, 'interval')) {
        const d = tok(i, 'DurationLiteral');
        if (d) durations.push(d);
        else counts.push(need(tok(i, 'IntegerLiteral')));
      }
      this.repeated(durations, 'a checkpoint interval');
      this.repeated(counts, 'a checkpoint record count');
      if (durations.length > 0) c.every = duration(durations[0]);
      if (counts.length > 0) c.records = integer(counts[0]);
      return c;
    }
    if (tok(n, 'Kw_on_failure')) return { kind: 'OnFailure', value: ident(tok(n, 'value')), span };
    if (tok(n, 'Kw_forward')) {
      this.once(n, 'Kw_token', 'token');
      this.once(n, 'Kw_ca', 'ca');
      const f: A.AuditSetting & { kind: 'Forward' } = { kind: 'Forward', url: str(tok(n, 'url')), span };
      const secrets = nodes(n, 'secret');
      if (tok(n, 'Kw_token')) f.token = this.secret(need(secrets[0]));
      if (tok(n, 'Kw_ca')) f.ca = str(tok(n, 'ca'));
      return f;
    }
    // `key` last: `forward … token` holds no `key`, but keep the order of the grammar obvious
    if (tok(n, 'Kw_key')) return { kind: 'AuditKey', secret: this.secret(need(node(n, 'secret'))), span };
    throw new Missing();
  }

  private approvals(n: CstNode): A.ApprovalsBlock {
    need(tok(n, 'Kw_approvals'));
    this.header(n, tok(n, 'LCurly'));
    const settings: A.ApprovalsSetting[] = [];
    for (const s of nodes(n, 'approvalsSetting')) {
      const built = this.guard(s, (x) => this.approvalsSetting(x));
      if (built !== undefined) settings.push(built);
    }
    return { kind: 'Approvals', settings, span: this.span(n) };
  }

  private approvalsSetting(n: CstNode): A.ApprovalsSetting {
    const span = this.span(n);
    if (tok(n, 'Kw_webhook')) {
      this.once(n, 'Kw_secret', 'secret');
      this.once(n, 'Kw_format', 'format');
      const w: A.ApprovalsSetting & { kind: 'Webhook' } = { kind: 'Webhook', url: this.secret(need(node(n, 'url'))), span };
      if (tok(n, 'Kw_secret')) w.secret = this.secret(need(node(n, 'hmac')));
      if (tok(n, 'Kw_format')) w.format = ident(tok(n, 'format'));
      return w;
    }
    if (tok(n, 'Kw_api')) {
      this.once(n, 'Kw_listen', 'listen');
      this.once(n, 'Kw_url', 'url');
      this.once(n, 'Kw_cert', 'cert');
      this.once(n, 'Kw_key', 'key');
      const a: A.ApprovalsSetting & { kind: 'Api' } = { kind: 'Api', span };
      if (tok(n, 'Kw_listen')) a.listen = str(tok(n, 'listen'));
      if (tok(n, 'Kw_url')) a.url = str(tok(n, 'apiUrl'));
      if (tok(n, 'Kw_cert')) a.cert = str(tok(n, 'cert'));
      if (tok(n, 'Kw_key')) a.key = this.secret(need(node(n, 'key')));
      return a;
    }
    if (tok(n, 'Kw_dir')) return { kind: 'ApprovalsDir', value: str(tok(n, 'dir')), span };
    throw new Missing();
  }

  /** An option the AST holds once, given again (PAM0012). */
  private repeated(ts: IToken[], word: string): void {
    if (ts.length > 1) {
      const named = word.startsWith('a ') ? word : `\`${word}\``;
      this.diagnostics.push(
        diagnostic('PAM0012', 'error', this.path, tspan(ts[1]), `${named} is given more than once`, {
          help: word.startsWith('a ') ? `give ${word} once` : `write \`${word}\` once`,
          related: [{ file: this.path, span: tspan(ts[0]), message: 'first given here' }],
        }),
      );
    }
  }

  // --- identity

  private identity(n: CstNode): A.IdentityBlock {
    need(tok(n, 'Kw_identity'));
    this.header(n, tok(n, 'LCurly'));
    const settings: A.IdentitySetting[] = [];
    for (const s of nodes(n, 'identitySetting')) {
      const built = this.guard(s, (x) => this.identitySetting(x));
      if (built !== undefined) settings.push(built);
    }
    return { kind: 'Identity', settings, span: this.span(n) };
  }

  private identitySetting(n: CstNode): A.IdentitySetting {
    const span = this.span(n);
    const strings = toks(n, 'StringLiteral');
    if (tok(n, 'Kw_issuer')) return { kind: 'Issuer', value: str(strings[0]), span };
    if (tok(n, 'Kw_audience')) return { kind: 'Audience', values: strings.map((s) => str(s)), span };
    if (tok(n, 'Kw_jwks')) return { kind: 'Jwks', source: tok(n, 'Kw_url') ? 'url' : 'file', value: str(strings[0]), span };
    if (tok(n, 'Kw_groups')) return { kind: 'ClaimMapping', field: 'groups', claim: str(strings[0]), span };
    if (tok(n, 'Kw_agent')) return { kind: 'ClaimMapping', field: 'agent', claim: str(strings[0]), span };
    if (tok(n, 'Kw_algorithms')) return { kind: 'Algorithms', values: toks(n, 'Ident').map((t) => ident(t)), span };
    if (tok(n, 'Kw_clock_skew')) return { kind: 'ClockSkew', value: duration(tok(n, 'DurationLiteral')), span };
    throw new Missing();
  }

  // --- targets

  private target(n: CstNode): A.TargetDecl {
    need(tok(n, 'Kw_target'));
    const name = this.name(tok(n, 'name'), 'a target name');
    const targetKind = this.name(tok(n, 'targetKind'), 'a target kind');
    this.header(n, tok(n, 'LCurly'));
    const settings: A.TargetSetting[] = [];
    for (const s of nodes(n, 'targetSetting')) {
      const built = this.guard(s, (x) => this.targetSetting(x));
      if (built !== undefined) settings.push(built);
    }
    return { kind: 'Target', name, targetKind, settings, span: this.span(n) };
  }

  private targetSetting(n: CstNode): A.TargetSetting {
    const span = this.span(n);
    const s = tok(n, 'StringLiteral');
    if (tok(n, 'Kw_host')) return { kind: 'Host', value: str(s), span };
    if (tok(n, 'Kw_port')) return { kind: 'Port', value: integer(tok(n, 'IntegerLiteral')), span };
    if (tok(n, 'Kw_database')) return { kind: 'Database', value: str(s), span };
    if (tok(n, 'Kw_server')) return { kind: 'Server', value: str(s), span };
    if (tok(n, 'Kw_listen')) return { kind: 'Listen', value: str(s), span };
    if (tok(n, 'Kw_login')) {
      return { kind: 'Login', user: str(s), credentials: nodes(n, 'credential').map((c) => this.credential(c)), span };
    }
    if (tok(n, 'Kw_tls')) {
      return {
        kind: 'Tls',
        upstream: tok(n, 'Kw_upstream') !== undefined,
        mode: this.tlsMode(need(node(n, 'tlsMode'))),
        options: nodes(n, 'tlsOption').map((o) => this.tlsOption(o)),
        span,
      };
    }
    if (tok(n, 'Kw_embedded')) {
      return tok(n, 'Kw_seed') ? { kind: 'Embedded', seed: str(s), span } : { kind: 'Embedded', span };
    }
    if (tok(n, 'Kw_search_path')) return { kind: 'SearchPath', schemas: this.nameList(need(node(n, 'nameList'))), span };
    if (tok(n, 'Kw_masking')) {
      return { kind: 'Masking', options: nodes(n, 'maskingOption').map((o) => this.maskingOption(o)), span };
    }
    throw new Missing();
  }

  private credential(n: CstNode): A.Credential {
    return { kind: 'Credential', name: ident(tok(n, 'Ident')), secret: this.secret(need(node(n, 'secret'))), span: this.span(n) };
  }

  private secret(n: CstNode): A.SecretRef {
    const source = tok(n, 'Kw_env') ? 'env' : tok(n, 'Kw_file') ? 'file' : 'literal';
    return { kind: 'Secret', source, value: str(tok(n, 'StringLiteral')), span: this.span(n) };
  }

  private tlsMode(n: CstNode): A.Ident {
    const words = toks(n, 'Word');
    need(words[0]);
    return { kind: 'Ident', value: words.map((w) => w.image).join('-'), quoted: false, span: this.span(n) };
  }

  private tlsOption(n: CstNode): A.TlsOption {
    const span = this.span(n);
    if (tok(n, 'Kw_cert')) return { kind: 'TlsCert', value: str(tok(n, 'StringLiteral')), span };
    if (tok(n, 'Kw_key')) return { kind: 'TlsKey', secret: this.secret(need(node(n, 'secret'))), span };
    if (tok(n, 'Kw_ca')) return { kind: 'TlsCa', value: str(tok(n, 'StringLiteral')), span };
    throw new Missing();
  }

  private maskingOption(n: CstNode): A.MaskingOption {
    const span = this.span(n);
    if (tok(n, 'Kw_hash_key')) return { kind: 'HashKey', secret: this.secret(need(node(n, 'secret'))), span };
    return { kind: 'MaskingChoice', name: ident(tok(n, 'name')), value: ident(tok(n, 'value')), span };
  }

  private nameList(n: CstNode): A.Ident[] {
    return [...toks(n, 'Ident'), ...toks(n, 'StringLiteral')].sort(byOffset).map((t) => ident(t));
  }

  // --- sets

  private set(n: CstNode): A.SetDecl {
    const name = this.name(tok(n, 'name'), 'a set name');
    return { kind: 'Set', name, members: nodes(n, 'resource').map((r) => this.resource(r)), span: this.span(n) };
  }

  // --- groups, on blocks and rules

  private group(n: CstNode): A.GroupBlock {
    need(tok(n, 'Kw_group'));
    const name = str(tok(n, 'StringLiteral'));
    this.header(n, tok(n, 'LCurly'));
    const blocks: A.OnBlock[] = [];
    for (const b of nodes(n, 'onBlock')) {
      const built = this.guard(b, (x) => this.on(x), true);
      if (built !== undefined) blocks.push(built);
    }
    return { kind: 'Group', name, blocks, span: this.span(n) };
  }

  private on(n: CstNode): A.OnBlock {
    need(tok(n, 'Kw_on'));
    const targetTokens = elements(n, 'target');
    const commas = elements(n, 'Comma');
    // every target must be there: a block whose target list broke is dropped with its rules
    if (targetTokens.length === 0 || commas.length !== targetTokens.length - 1) throw new Missing();
    if (!targetTokens.every((t) => isToken(t) && realToken(t)) || !commas.every((t) => isToken(t) && realToken(t))) throw new Missing();
    const targets = (targetTokens as IToken[]).map((t) => this.name(t, 'a target name'));
    this.header(n, tok(n, 'LCurly'));
    const ruleNodes = [...nodes(n, 'accessRule'), ...nodes(n, 'maskRule'), ...nodes(n, 'limitRule')];
    const starts = new Map(ruleNodes.map((r) => [r, this.spans.of(r)?.start ?? Infinity]));
    if (ruleNodes.length > 1) ruleNodes.sort((a, b) => (starts.get(a) ?? 0) - (starts.get(b) ?? 0));
    const rules: A.Rule[] = [];
    for (const r of ruleNodes) {
      const built = this.guard(r, (x) => this.rule(x));
      if (built !== undefined) rules.push(built);
    }
    return { kind: 'On', targets, rules, span: this.span(n) };
  }

  private rule(n: CstNode): A.Rule {
    if (n.name === 'accessRule') return this.access(n);
    if (n.name === 'maskRule') return this.mask(n);
    return { kind: 'Limit', rows: integer(tok(n, 'IntegerLiteral')), span: this.span(n) };
  }

  private access(n: CstNode): A.AccessRule {
    const effectToken = need(tok(n, 'Kw_allow') ?? tok(n, 'Kw_deny') ?? tok(n, 'Kw_approve'));
    const effect = effectToken.image as A.Effect;
    const actions = toks(n, 'action').map((t) => this.name(t, 'an action'));
    need(actions[0]);
    const resources = nodes(n, 'resource').map((r) => this.resource(r));
    if (tok(n, 'Kw_on') !== undefined && resources.length === 0) throw new Missing();
    const conditions = nodes(n, 'condition').map((c) => this.condition(c));
    const approvalNode = node(n, 'approval');
    const rule: A.AccessRule = {
      kind: 'Access',
      effect,
      effectSpan: tspan(effectToken),
      actions,
      resources,
      conditions,
      span: this.span(n),
    };
    if (approvalNode !== undefined) rule.approval = this.approval(approvalNode);
    return rule;
  }

  private resource(n: CstNode): A.Resource {
    const kindToken = tok(n, 'objectKind');
    const path = this.pathOf(n);
    const r: A.Resource = { kind: 'Resource', path, span: this.span(n) };
    if (kindToken !== undefined) r.objectKind = ident(kindToken);
    return r;
  }

  /** The path of a `path` or `resource` node: its `part` tokens. */
  private pathOf(n: CstNode): A.Path {
    const parts: (A.Ident | A.Star)[] = [];
    const partTokens = toks(n, 'part');
    for (const t of partTokens) {
      if (t.tokenType === T.Star) parts.push({ kind: 'Star', span: tspan(t) });
      else {
        if (t.tokenType !== T.StringLiteral && T.isReservedWord(t.image)) {
          this.diagnostics.push(
            diagnostic('PAM0010', 'error', this.path, tspan(t), `\`${t.image}\` is a reserved word`, { help: `quote it: \`"${t.image}"\`` }),
          );
        }
        parts.push(ident(t));
      }
    }
    const first = need(partTokens[0]);
    const last = partTokens[partTokens.length - 1];
    return { kind: 'Path', parts, span: { start: first.startOffset, end: tokenEnd(last) } };
  }

  private condition(n: CstNode): A.Condition {
    const span = this.span(n);
    if (tok(n, 'Kw_during')) {
      const c: A.Condition & { kind: 'During' } = { kind: 'During', span };
      const days = node(n, 'daySpec');
      if (days !== undefined) {
        const from = tok(days, 'from');
        c.days = from
          ? { kind: 'DayRange', from: ident(from), to: ident(tok(days, 'to')), span: this.span(days) }
          : { kind: 'DayList', days: toks(days, 'day').map((t) => ident(t)), span: this.span(days) };
      }
      if (tok(n, 'from')) {
        c.from = time(tok(n, 'from'));
        c.to = time(tok(n, 'to'));
      }
      if (tok(n, 'Kw_tz')) c.tz = str(tok(n, 'tz'));
      return c;
    }
    if (tok(n, 'Kw_claim')) {
      const claim = str(tok(n, 'claim'));
      const values = toks(n, 'value').map((t) => str(t));
      need(values[0]);
      const op = tok(n, 'Equals') ? '=' : tok(n, 'NotEquals') ? '!=' : tok(n, 'Kw_not') ? 'not in' : 'in';
      return { kind: 'Claim', claim, op, values, span };
    }
    const name = ident(tok(n, 'property'));
    if (name.value === 'not') {
      // `when not by "x"`: a lone `not` is a negation that lost its property, not a property
      this.diagnostics.push(
        diagnostic('PAM0004', 'error', this.path, name.span, 'expected a property after `not`', { help: 'write `not unbounded`, for example' }),
      );
      throw new Missing();
    }
    return { kind: 'Property', negated: tok(n, 'Kw_not') !== undefined, name, span };
  }

  private approval(n: CstNode): A.Approval {
    const a: A.Approval = { kind: 'Approval', by: str(tok(n, 'StringLiteral')), span: this.span(n) };
    this.once(n, 'Kw_quorum', 'quorum');
    this.once(n, 'Kw_within', 'within');
    this.once(n, 'Kw_mode', 'mode');
    this.once(n, 'Kw_uses', 'uses');
    if (tok(n, 'Kw_quorum')) a.quorum = integer(tok(n, 'quorum'));
    if (tok(n, 'Kw_within')) a.within = duration(tok(n, 'DurationLiteral'));
    if (tok(n, 'Kw_mode')) a.mode = ident(tok(n, 'mode'));
    if (tok(n, 'Kw_uses')) a.uses = integer(tok(n, 'uses'));
    return a;
  }

  /** The AST has room for one of each approval option: a repeated one is an error (PAM0012). */
  private once(n: CstNode, keyword: string, word: string): void {
    const k = toks(n, keyword);
    if (k.length > 1) {
      this.diagnostics.push(
        diagnostic('PAM0012', 'error', this.path, tspan(k[1]), `\`${word}\` is given more than once`, {
          help: `write \`${word}\` once`,
          related: [{ file: this.path, span: tspan(k[0]), message: 'first given here' }],
        }),
      );
    }
  }

  private mask(n: CstNode): A.MaskRule {
    const columns = nodes(n, 'path').map((p) => this.pathOf(p));
    need(columns[0]);
    const s = need(node(n, 'strategy'));
    const strategy: A.Strategy = { kind: 'Strategy', name: ident(tok(s, 'Ident')), span: this.span(s) };
    if (tok(s, 'IntegerLiteral')) strategy.argument = integer(tok(s, 'IntegerLiteral'));
    return { kind: 'Mask', columns, strategy, span: this.span(n) };
  }
}

/** Builds the AST of a parsed file. Never throws. */
export function cstToAst(
  cst: CstNode | undefined,
  path: string,
  textLength: number,
  comments: IToken[],
  clean = false,
  errorOffsets: readonly number[] = [],
): { file: A.PolicyFile; diagnostics: Diagnostic[] } {
  const b = new Builder(path, clean, errorOffsets);
  const commentNodes: A.Comment[] = comments.map((c) => ({
    kind: 'Comment',
    text: c.image,
    span: { start: c.startOffset, end: tokenEnd(c) },
  }));
  return { file: b.file(cst, textLength, commentNodes), diagnostics: b.diagnostics };
}
