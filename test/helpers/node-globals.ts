/** Puts node:test's describe/it/hooks on globalThis, mirroring mocha in the browser. */
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

Object.assign(globalThis, { describe, it, before, after, beforeEach, afterEach });
