/**
 * The long form of the fuzzer: `node --import tsx test/fuzz/run.ts [--iterations N]
 * [--seconds S] [--target name] [--seed N]` (FUZZ_SEED works too). Runs every target
 * (or those whose name contains `--target`) for a count or a time, splitting the time
 * evenly, prints a table per target and every finding, and exits 1 on any finding.
 */
import { parseArgs } from 'node:util';
import { type Finding, formatFinding, fuzzTarget } from './harness.ts';
import { KNOWN_BUGS } from './known.ts';
import { seedFromEnv } from './mutate.ts';
import { makeTargets } from './targets.ts';

const { values } = parseArgs({
  options: {
    iterations: { type: 'string' },
    seconds: { type: 'string' },
    target: { type: 'string', multiple: true },
    seed: { type: 'string' },
  },
});

const seed =
  values.seed !== undefined ? Number(values.seed) >>> 0 : seedFromEnv(Math.floor(Math.random() * 2 ** 32));
const iterations = values.iterations !== undefined ? Number(values.iterations) : undefined;
const seconds =
  values.seconds !== undefined ? Number(values.seconds) : iterations === undefined ? 60 : undefined;
const all = await makeTargets();
const targets = all.filter((t) => !values.target || values.target.some((name) => t.name.includes(name)));
if (targets.length === 0) {
  console.error(
    `no target matches ${values.target?.join(', ')}; targets: ${all.map((t) => t.name).join(', ')}`,
  );
  process.exit(2);
}

console.log(
  `fuzz: seed ${seed} (replay with FUZZ_SEED=${seed}), ${targets.length} targets, ` +
    (seconds !== undefined ? `${seconds} s` : `${iterations} inputs`) +
    (seconds !== undefined && iterations !== undefined ? ` or ${iterations} inputs each` : ''),
);
const findings: Finding[] = [];
const known: Finding[] = [];
const rows: string[][] = [
  ['target', 'tried', 'accepted', 'high-S twins', 'rejected', 'findings', 'known', 'inputs/s'],
];
const start = performance.now();
for (const [i, target] of targets.entries()) {
  // Each target gets an even share of the time left, so a slow one cannot starve the rest.
  const left = seconds === undefined ? undefined : seconds * 1000 - (performance.now() - start);
  const deadline = left === undefined ? undefined : performance.now() + left / (targets.length - i);
  const s = await fuzzTarget(target, { seed, iterations, deadline, known: KNOWN_BUGS });
  findings.push(...s.findings);
  known.push(...s.known);
  rows.push([
    s.target,
    String(s.tried),
    String(s.accepted),
    String(s.equivalent),
    String(s.rejected),
    String(s.findings.length),
    String(s.known.length),
    ((s.tried * 1000) / Math.max(s.ms, 1)).toFixed(0),
  ]);
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
for (const r of rows)
  console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
const total = rows.slice(1).reduce((n, r) => n + Number(r[1]), 0);
console.log(
  `total: ${total} inputs in ${((performance.now() - start) / 1000).toFixed(1)} s, ${findings.length} findings`,
);
for (const f of known.slice(0, 5)) console.log(`known (skipped): ${formatFinding(f)}`);
for (const f of findings.slice(0, 50)) console.log(formatFinding(f));
process.exit(findings.length > 0 ? 1 : 0);
