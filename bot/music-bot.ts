/**
 * The example music bot, as a command (see bot/README.md): joins a voice channel as
 * an allowlisted identity and plays WAV files into it over the relay, from the
 * command line (`--file`) and, with `--text`, on commands typed in a text channel
 * (`!play NAME`, `!pause`, `!resume`, `!stop`, `!list`, `!np`, `!help`). The only file
 * of bot/ that reads argv and the environment.
 *
 *   node --import tsx bot/music-bot.ts --server URL --key FILE --channel NAME --file song.wav
 *   node --import tsx bot/music-bot.ts keygen --key FILE
 *
 * Exit codes: 0 done, 1 runtime failure (refused, unreachable, bad file), 2 usage.
 */
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { generateIdentity, userIdOf } from '../crypto/identity.ts';
import { ProtocolError } from '../protocol/errors.ts';
import { loadWavFile } from './audio-file.ts';
import { type ChatCommand, ChatCommands } from './chat-commands.ts';
import { BotError } from './errors.ts';
import { readKeyFile, writeKeyFile } from './key-file.ts';
import { MusicPlayer } from './music-player.ts';
import { StateFile } from './state-file.ts';
import { VoiceBot } from './voice-bot.ts';

export const USAGE = `tincan music bot: plays WAV files into a voice channel, end-to-end encrypted over the relay

usage:
  node --import tsx bot/music-bot.ts --server URL --key FILE --channel NAME [options]
  node --import tsx bot/music-bot.ts keygen --key FILE

  --server URL     the tincan server (https://host, or the origin of an invite link)
  --key FILE       the bot's identity: a backup text (the app's Settings → Export backup,
                   or made by keygen), opened with the passphrase in $TINCAN_KEY_PASSPHRASE
  --channel NAME   the voice channel (name or id)
  --file WAV       play this file (PCM 16-bit WAV, any rate; the first channel of stereo)
  --loop           play --file again and again
  --text NAME      take commands in this text channel (and stay until stopped):
                   !play NAME  !pause  !resume  !stop  !list  !np  !help
  --dir DIR        the files !play NAME plays (DIR/NAME.wav; default the current directory)
  --state FILE     where the bot keeps its keys between runs (default <key>.state.json);
                   secret like the key: without it, members stop hearing a restarted bot
  --bitrate BPS    Opus bit/s (default the channel's)

  keygen --key FILE  makes a new identity, writes it sealed with $TINCAN_KEY_PASSPHRASE,
                     and prints the line that puts it on the server's allowlist`;

export class UsageError extends Error {}

export interface MainContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly out: (line: string) => void;
  /** Ends a bot that stays (with --text) and a file being played. */
  readonly stop?: AbortSignal;
}

const SAFE_NAME = /^[\w-][\w .-]{0,63}$/;

function passphraseOf(env: MainContext['env']): string {
  const passphrase = env.TINCAN_KEY_PASSPHRASE;
  if (!passphrase) throw new UsageError('set TINCAN_KEY_PASSPHRASE to the passphrase of the key file');
  return passphrase;
}

function parseBitrate(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const bitrate = Number(text);
  if (!Number.isInteger(bitrate) || bitrate < 6_000 || bitrate > 510_000)
    throw new UsageError(`--bitrate must be 6000–510000, got ${text}`);
  return bitrate;
}

async function keygen(argv: string[], ctx: MainContext): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { key: { type: 'string' } }, strict: true });
  if (!values.key) throw new UsageError('keygen needs --key FILE');
  const identity = generateIdentity();
  await writeKeyFile(values.key, identity, passphraseOf(ctx.env));
  const id = userIdOf(identity.publicKey);
  ctx.out(`wrote ${values.key} for ${id}`);
  ctx.out('put it on the allowlist beside the server:');
  ctx.out(`  npx tincan keys add ${id} --roles member --name "Music bot"`);
}

/** Waits for `signal` (or forever without one). */
function stopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) resolve();
    signal?.addEventListener('abort', () => resolve(), { once: true });
  });
}

async function run(argv: string[], ctx: MainContext): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      server: { type: 'string' },
      key: { type: 'string' },
      channel: { type: 'string' },
      file: { type: 'string' },
      loop: { type: 'boolean' },
      text: { type: 'string' },
      dir: { type: 'string' },
      state: { type: 'string' },
      bitrate: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    ctx.out(USAGE);
    return;
  }
  if (!values.server || !values.key || !values.channel)
    throw new UsageError('--server, --key and --channel are required');
  if (!values.file && !values.text) throw new UsageError('give --file to play, or --text to take commands');
  const bitrate = parseBitrate(values.bitrate);
  const first = values.file ? await loadWavFile(values.file) : undefined; // a bad file fails before connecting
  const identity = await readKeyFile(values.key, passphraseOf(ctx.env));
  const cache = await StateFile.open(values.state ?? `${values.key}.state.json`);
  const bot = await VoiceBot.join({
    serverUrl: values.server,
    identity,
    cache,
    channel: values.channel,
    ...(bitrate ? { bitrate } : {}),
    log: (m) => ctx.out(`warning: ${m}`),
  });
  ctx.out(
    `joined ${bot.channel.name} as ${userIdOf(identity.publicKey)}${bot.canSpeak.value ? '' : ' (may not speak)'}`,
  );
  const player = new MusicPlayer(bot);
  let commands: ChatCommands | undefined;
  const abort = () => player.stop();
  ctx.stop?.addEventListener('abort', abort, { once: true });
  try {
    if (values.text) {
      const dir = resolve(values.dir ?? '.');
      commands = await ChatCommands.watch(
        bot.session,
        values.text,
        (c) => command(c, player, dir, (m) => ctx.out(m)),
        (m) => ctx.out(`warning: ${m}`),
      );
      ctx.out(`taking commands in #${values.text}`);
    }
    if (first) {
      ctx.out(`playing ${first.name} (${(first.durationMs / 1000).toFixed(1)} s)`);
      const end = await player.play(first, { loop: values.loop === true });
      ctx.out(`${first.name}: ${end}`);
    }
    if (commands) await stopped(ctx.stop);
  } finally {
    ctx.stop?.removeEventListener('abort', abort);
    player.stop();
    commands?.close();
    const s = bot.stats();
    ctx.out(
      `sent ${s.framesSent} frames (${s.bytesSent} bytes), ${s.dropped} dropped, ${s.gated} gated; ` +
        `Opus encode ${s.encodeMeanMs.toFixed(3)} ms/frame; clock late at most ${player.clockStats().maxLateMs.toFixed(1)} ms`,
    );
    await bot.leave();
    await cache.flush();
  }
}

/** One chat command for the player; the answer is posted to the channel. */
async function command(c: ChatCommand, player: MusicPlayer, dir: string, log: (m: string) => void) {
  switch (c.name) {
    case 'play': {
      if (!SAFE_NAME.test(c.args))
        return 'usage: !play NAME (a file NAME.wav of the library; !list shows them)';
      const track = await loadWavFile(join(dir, `${c.args}.wav`)).catch((error: Error) => error);
      if (track instanceof Error) return `cannot play ${c.args}: ${track.message}`;
      log(`playing ${track.name} for ${c.author}`);
      void player.play(track).catch((error: Error) => log(`playback ended: ${error.message}`));
      return `now playing ${track.name} (${(track.durationMs / 1000).toFixed(1)} s)`;
    }
    case 'pause':
      player.pause();
      return player.state.value === 'paused' ? 'paused' : 'nothing is playing';
    case 'resume':
      player.resume();
      return player.state.value === 'playing' ? 'playing' : 'nothing to resume';
    case 'stop':
      player.stop();
      return 'stopped';
    case 'np': {
      const track = player.track.value;
      return track
        ? `${player.state.value}: ${track.name} at ${(player.positionMs / 1000).toFixed(1)} s`
        : 'idle';
    }
    case 'list': {
      const names = (await readdir(dir).catch(() => [] as string[]))
        .filter((f) => f.toLowerCase().endsWith('.wav'))
        .map((f) => f.slice(0, -4))
        .filter((n) => SAFE_NAME.test(n))
        .sort();
      return names.length > 0 ? `library: ${names.join(', ')}` : 'the library is empty';
    }
    case 'help':
      return 'commands: !play NAME, !pause, !resume, !stop, !np, !list';
    default:
      return undefined; // not ours: other bots may answer
  }
}

/** Runs the command line; resolves with the exit code. */
export async function main(argv: string[], ctx: MainContext): Promise<number> {
  try {
    if (argv[0] === 'keygen') await keygen(argv.slice(1), ctx);
    else await run(argv, ctx);
    return 0;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      ctx.out(`music-bot: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof BotError || error instanceof ProtocolError) {
      ctx.out(`music-bot: ${error instanceof ProtocolError ? `${error.code}: ` : ''}${error.message}`);
      return 1;
    }
    ctx.out(`music-bot: ${(error as Error).stack ?? String(error)}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const controller = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => controller.abort());
  const code = await main(process.argv.slice(2), {
    env: process.env,
    out: (line) => console.log(line),
    stop: controller.signal,
  });
  process.exit(code);
}
