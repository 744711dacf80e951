// `pamc eval` and `pamc explain`: decide one SQL text for one identity, as the gateway would.

import type { Argv } from 'yargs';
import { decide } from '../../runtime/policy/decide.ts';
import { explain, type FactExplanation } from '../../runtime/policy/explain.ts';
import { EXIT_OK, listOf, splitList, UsageError, type CommandModule } from './common.ts';
import {
  classifyFor,
  decisionJson,
  decisionText,
  describeFact,
  groupsOf,
  identityOptions,
  parseAt,
  parseClaims,
  policyForRuntime,
  principalFor,
  ruleLocation,
} from './evaluate.ts';

function builder(y: Argv, verb: string): Argv {
  return y
    .positional('sql', { type: 'string', describe: 'the SQL text (one or more statements)' })
    .options(identityOptions)
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
    .example(`$0 ${verb} --policy examples/quickstart --target shop --groups analysts "SELECT * FROM customers"`, 'as an analyst')
    .example(`$0 ${verb} --policy policies/ --target shop --groups ops --claim env=prod "DELETE FROM orders"`, 'with a claim');
}

async function setUp(args: Record<string, unknown>) {
  const sql = args.sql;
  if (typeof sql !== 'string') throw new UsageError('give the SQL text to decide');
  const { compiled, loaded } = await policyForRuntime(splitList(args.policy));
  const principal = principalFor(loaded, String(args.target), groupsOf(args), parseClaims(listOf(args.claim)));
  const classification = await classifyFor(principal, sql);
  return { compiled, principal, classification, now: parseAt(args.at) };
}

export const evalCommand: CommandModule = {
  command: 'eval <sql>',
  describe: 'decide a SQL text for an identity: allow, deny or approve, with masks and limits',
  builder: (y) => builder(y, 'eval'),
  handler: async (args) => {
    const { compiled, principal, classification, now } = await setUp(args);
    const d = decide(principal, classification.statements, now);
    if (args.json) process.stdout.write(JSON.stringify(decisionJson(compiled, d, classification), null, 2) + '\n');
    else process.stdout.write(decisionText(compiled, d, classification));
    return EXIT_OK;
  },
};

export const explainCommand: CommandModule = {
  command: 'explain <sql>',
  describe: 'show how a decision was reached: statements, facts, every rule considered',
  builder: (y) => builder(y, 'explain'),
  handler: async (args) => {
    const { compiled, principal, classification, now } = await setUp(args);
    const e = explain(principal, classification.statements, now);
    const rule = (id: number) => `${ruleLocation(compiled, compiled.rules[id])}  ${compiled.rules[id].text}`;
    if (args.json) {
      const facts = e.facts.map((f) => ({
        statement: f.statement + 1,
        fact: f.fact,
        matchedKey: f.matchedKey,
        effect: f.effect,
        reason: f.reason,
        considered: f.considered.map((c) => ({ ...c, text: compiled.rules[c.rule].text, location: ruleLocation(compiled, compiled.rules[c.rule]) })),
      }));
      process.stdout.write(JSON.stringify({ ...decisionJson(compiled, e.decision, classification), explanation: facts }, null, 2) + '\n');
      return EXIT_OK;
    }
    const identity = principal.identity.groups.length > 0 ? `groups ${principal.identity.groups.map((g) => `"${g}"`).join(', ')}` : 'no groups';
    const out: string[] = [`identity: ${identity}; target: ${principal.target.name}`];
    if (classification.error) out.push(`the SQL does not parse: ${classification.error.message}`);
    classification.statements.forEach((s, i) => {
      out.push('', `statement ${i + 1}: ${s.text.length > 200 ? s.text.slice(0, 200) + '…' : s.text}`);
      const facts = e.facts.filter((f) => f.statement === i);
      if (s.facts.length === 0) out.push('  touches nothing else: decided as `compute`');
      for (const f of facts) out.push(...explainFactLines(f, rule));
    });
    out.push('', `decision: ${decisionText(compiled, e.decision, classification).trimEnd()}`);
    process.stdout.write(out.join('\n') + '\n');
    return EXIT_OK;
  },
};

function explainFactLines(f: FactExplanation, rule: (id: number) => string): string[] {
  const lines = [`  fact: ${describeFact(f.fact)}`];
  if (f.reason === 'forbidden') {
    lines.push('    refused whatever the policy says → deny');
    return lines;
  }
  if (f.matchedKey === null) {
    lines.push(`    no rule mentions ${f.fact.action}${f.fact.resource ? ` on ${f.fact.resource}` : ''} → deny`);
    return lines;
  }
  const via = f.matchedKey === f.fact.resource ? 'its own entry' : `\`${f.matchedKey}\``;
  lines.push(`    rules found under ${via}:`);
  for (const c of f.considered) {
    lines.push(`    ${c.applies ? '✓' : '✗'} ${c.effect.padEnd(7)} ${rule(c.rule)}${c.applies ? '' : `\n              does not apply: ${c.why}`}`);
  }
  const why = f.reason === 'no_rule' ? 'no rule applies' : `${f.effect === 'deny' ? 'a' : 'an'} ${f.effect} rule applies`;
  lines.push(`    → ${f.effect} (${why})`);
  return lines;
}
