/**
 * Commands typed in a text channel (`!play song`, `!stop`), read and answered through
 * the client core's Conversation (web/core/conversation.ts), so they are end-to-end
 * encrypted like any message: the bot is a member that reads the channel.
 *
 * Only posts that arrive after `watch` and were written (by their signed time) no
 * earlier than a minute before it count, so history loaded later is not replayed as
 * commands; the bot's own posts, deleted ones and edits are ignored. Commands run one
 * at a time, in the order they were seen.
 */
import type { Conversation } from '../web/core/conversation.ts';
import type { ServerSession } from '../web/core/server-view.ts';
import { BotError } from './errors.ts';
import { findChannel } from './find-channel.ts';

/** Posts written this long before `watch` still count (clocks differ a little). */
const CLOCK_SLACK_MS = 60_000;
const COMMAND = /^!([a-z][a-z0-9_-]{0,31})(?:\s+([\s\S]*))?$/i;

export interface ChatCommand {
  /** Lower case, without the `!`. */
  readonly name: string;
  /** The rest of the line, trimmed ('' when none). */
  readonly args: string;
  /** User id of who typed it. */
  readonly author: string;
  readonly messageId: string;
}

/** Handles one command; a string answer is posted to the channel. */
export type CommandHandler = (command: ChatCommand) => Promise<string | undefined> | string | undefined;

/** `!name args` of a post, or undefined when the post is not a command. */
export function parseCommand(text: string): { name: string; args: string } | undefined {
  const m = COMMAND.exec(text.trim());
  return m ? { name: m[1]!.toLowerCase(), args: (m[2] ?? '').trim() } : undefined;
}

export class ChatCommands {
  private readonly seen = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private off: (() => void) | undefined;
  private closed = false;

  private constructor(
    private readonly session: ServerSession,
    readonly conversation: Conversation,
    private readonly handler: CommandHandler,
    private readonly since: number,
    private readonly log: (message: string) => void,
  ) {}

  /** Starts reading `channel` (a text channel's id or name). */
  static async watch(
    session: ServerSession,
    channel: string,
    handler: CommandHandler,
    log: (message: string) => void = () => {},
  ): Promise<ChatCommands> {
    const info = findChannel(session, channel, 'text');
    const conversation = session.conversation(info.id);
    const since = Date.now() - CLOCK_SLACK_MS;
    const commands = new ChatCommands(session, conversation, handler, since, log);
    await conversation.open();
    for (const m of conversation.messages.value) commands.seen.add(m.id); // history is not commands
    commands.off = conversation.messages.subscribe(() => commands.scan());
    commands.scan();
    return commands;
  }

  /** Posts `text` to the channel. */
  async reply(text: string): Promise<void> {
    if (this.closed) throw new BotError('NOT_JOINED', 'the command watcher is closed');
    await this.conversation.send(text);
  }

  /** Resolves when every command seen so far has been handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.off?.();
    this.conversation.close();
  }

  private scan(): void {
    for (const m of this.conversation.messages.value) {
      if (this.seen.has(m.id)) continue;
      this.seen.add(m.id);
      if (m.author === this.session.meId || m.deleted || m.at < this.since) continue;
      const parsed = parseCommand(m.text);
      if (!parsed) continue;
      const command: ChatCommand = { ...parsed, author: m.author, messageId: m.id };
      this.queue = this.queue.then(() => this.run(command));
    }
  }

  private async run(command: ChatCommand): Promise<void> {
    if (this.closed) return;
    try {
      const answer = await this.handler(command);
      if (answer && !this.closed) await this.conversation.send(answer);
    } catch (error) {
      this.log(`!${command.name}: ${(error as Error).message}`);
    }
  }
}
