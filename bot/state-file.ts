/**
 * A LocalCache (web/core/local-cache.ts) for a bot that keeps what matters between
 * runs: the settings, which hold the session's group keys (its own sender keys
 * among them), go to one JSON file; log entries and cursors stay in memory and are
 * fetched again after a restart.
 *
 * Why the keys must outlive the process: members hold the bot's sender key for each
 * channel and epoch, and refuse a different one for the same sender and epoch
 * (group-keys.ts, KEY_REJECTED), so a bot that forgot its key would not be heard or
 * read until the next epoch.
 *
 * The file holds secret key material: it is written with mode 0600, through a
 * temporary file renamed over it (a crash leaves the old or the new file, never half
 * of one), one write at a time, each after the change it carries.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Cursor, LocalCache, LogEntry } from '../web/core/local-cache.ts';
import { MemoryCache } from '../web/core/local-cache.ts';
import { BotError } from './errors.ts';

const FORMAT = 'tincan-bot-state/v1';

export class StateFile implements LocalCache {
  private readonly memory = new MemoryCache();
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly settings: Map<string, string>,
  ) {}

  /** Opens the file (a missing one is an empty state). Throws `BAD_STATE_FILE` for one that does not parse. */
  static async open(path: string): Promise<StateFile> {
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const settings = new Map<string, string>();
    if (text !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new BotError('BAD_STATE_FILE', `${path} is not JSON`, { cause: error });
      }
      const record = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
      const stored = record.settings;
      if (record.format !== FORMAT || typeof stored !== 'object' || stored === null || Array.isArray(stored))
        throw new BotError('BAD_STATE_FILE', `${path} is not a ${FORMAT} file`);
      for (const [name, value] of Object.entries(stored)) settings.set(name, JSON.stringify(value));
    }
    return new StateFile(path, settings);
  }

  entries(conversation: string): Promise<LogEntry[]> {
    return this.memory.entries(conversation);
  }

  putEntries(conversation: string, entries: readonly LogEntry[]): Promise<void> {
    return this.memory.putEntries(conversation, entries);
  }

  cursor(conversation: string): Promise<Cursor | undefined> {
    return this.memory.cursor(conversation);
  }

  setCursor(conversation: string, cursor: Cursor): Promise<void> {
    return this.memory.setCursor(conversation, cursor);
  }

  async getSetting(name: string): Promise<unknown> {
    const text = this.settings.get(name);
    return text === undefined ? undefined : JSON.parse(text);
  }

  /** Resolves once the file holds the new value. */
  putSetting(name: string, value: unknown): Promise<void> {
    this.settings.set(name, JSON.stringify(value)); // as IndexedDB would clone it: no shared references
    return this.flush();
  }

  /** Writes the current settings (after any write in progress). */
  flush(): Promise<void> {
    const next = this.writing.then(() => this.write());
    this.writing = next.catch(() => undefined); // one failed write does not stop the next
    return next;
  }

  private async write(): Promise<void> {
    const settings: Record<string, unknown> = {};
    for (const [name, text] of this.settings) settings[name] = JSON.parse(text);
    const temporary = `${this.path}.${process.pid}.tmp`;
    await mkdir(dirname(this.path), { recursive: true });
    await writeFile(temporary, `${JSON.stringify({ format: FORMAT, settings })}\n`, { mode: 0o600 });
    await chmod(temporary, 0o600); // writeFile's mode applies only to a file it creates
    await rename(temporary, this.path);
  }
}
