/**
 * Test files in crypto/ and protocol/ run unchanged in Node (node:test, whose
 * functions test/helpers/node-globals.ts puts on globalThis) and in Chromium (mocha
 * under @web/test-runner, which defines the same globals). Only the shared subset
 * is declared here.
 */
type TestFn = () => void | Promise<void>;
declare global {
  function describe(name: string, fn: () => void): void;
  function it(name: string, fn: TestFn): void;
  function before(fn: TestFn): void;
  function after(fn: TestFn): void;
  function beforeEach(fn: TestFn): void;
  function afterEach(fn: TestFn): void;
}

export {};
