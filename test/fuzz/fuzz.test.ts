/**
 * The short form of the hostile-input fuzzer, for `npm test`: every target gets its
 * seeds and a bounded number of mutated inputs from a fixed seed (FUZZ_SEED overrides
 * it). A finding fails with the target, seed, iteration and the input in hex; replay
 * it with `FUZZ_SEED=<seed> node --import tsx test/fuzz/run.ts --target <name>`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatFinding, fuzzTarget } from './harness.ts';
import { KNOWN_BUGS } from './known.ts';
import { seedFromEnv } from './mutate.ts';
import { makeTargets } from './targets.ts';

const SEED = seedFromEnv(0x7c4a_2026);

/** Inputs per target: cheap parsers get many, signature checks (~1 ms each) fewer. */
const ITERATIONS: readonly [prefix: string, count: number][] = [
  ['protocol.', 3000],
  ['relay.parse', 3000],
  ['relay.verifyRelayTicket', 600],
  ['sign.', 400],
  ['statement.', 2000],
  ['message.verifyMessageAsync', 600],
  ['message.', 400],
  ['frame.', 2000],
  ['file.', 1500],
  ['envelope.openEnvelope', 400],
  ['envelope.', 3000],
  ['invite.verifyInvite', 600],
  ['invite.', 3000],
  ['backup.importBackup', 1000],
  ['backup.', 3000],
];

const iterationsFor = (name: string) => ITERATIONS.find(([prefix]) => name.startsWith(prefix))?.[1] ?? 500;

const targets = await makeTargets();

describe(`fuzz (FUZZ_SEED=${SEED})`, () => {
  for (const target of targets) {
    it(`${target.name}: no crash, no accepted forgery`, async (t) => {
      const stats = await fuzzTarget(target, {
        seed: SEED,
        iterations: iterationsFor(target.name),
        stopOnFinding: true,
        known: KNOWN_BUGS,
      });
      t.diagnostic(
        `${stats.tried} inputs: ${stats.accepted} accepted (${stats.equivalent} high-S twins), ${stats.rejected} rejected, ${stats.findings.length} findings`,
      );
      const first = stats.findings[0];
      assert.ok(first === undefined, first === undefined ? 'no finding' : formatFinding(first));
      assert.ok(stats.accepted >= target.seeds.length, `every seed of ${target.name} must be accepted`);
    });
  }

  for (const bug of KNOWN_BUGS) {
    it(`known bug in ${bug.target}`, { todo: bug.todo }, async () => {
      const target = targets.find((t) => t.name === bug.target);
      assert.ok(target !== undefined, `no target ${bug.target}`);
      const stats = await fuzzTarget(target, { seed: SEED, iterations: iterationsFor(target.name) });
      assert.ok(
        stats.known.length === 0,
        `${bug.todo}\n${stats.known[0] ? formatFinding(stats.known[0]) : ''}`,
      );
    });
  }
});
