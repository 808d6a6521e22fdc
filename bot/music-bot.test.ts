/**
 * The music bot command against a real server: keygen, usage errors, the command
 * itself spawned as `node --import tsx bot/music-bot.ts … --file tone.wav` (a listening
 * bot hears the tone), and chat commands in a text channel (`!list`, `!play`, `!np`,
 * `!stop`) answered in that channel while the tone reaches the voice channel.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userIdOf } from '../crypto/identity.ts';
import { member, startTestServer, type TestServer } from '../test/helpers/signal.ts';
import { eventually, fastPolicy, session, texts } from '../web/core/testing.ts';
import { hasTone } from '../web/voice/tone.ts';
import { toneWav } from '../web/voice/wav.ts';
import { readKeyFile, writeKeyFile } from './key-file.ts';
import { main } from './music-bot.ts';
import { VoiceBot } from './voice-bot.ts';

const PASS = 'music bot passphrase';
const FAST = { logN: 10, r: 8, p: 1 };

describe('music-bot command', () => {
  const music = member(['member'], 'music');
  const ear = member(['member'], 'ear');
  const fan = member(['member'], 'fan');
  let t: TestServer;
  let dir: string;
  let keyPath: string;
  let listener: VoiceBot;
  /** Frames the listener decoded from the music bot, each checked for the tone. */
  const heard: boolean[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tincan-music-'));
    t = await startTestServer({ authorizedKeys: music.line + ear.line + fan.line });
    keyPath = join(dir, 'music.key');
    await writeKeyFile(keyPath, music.identity, PASS, FAST);
    await writeFile(join(dir, 'tone.wav'), toneWav({ frequency: 523, durationMs: 1000, sampleRate: 22_050 }));
    listener = await VoiceBot.join({
      serverUrl: t.server.url,
      identity: ear.identity,
      channel: 'Lounge',
      policy: fastPolicy(),
    });
    listener.onAudio((userId, pcm) => {
      if (userId === music.key)
        heard.push(
          hasTone(
            Float32Array.from(pcm, (s) => s / 0x8000),
            48_000,
            523,
          ),
        );
    });
  });
  after(async () => {
    await listener.leave();
    await t.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keygen writes a sealed key and prints the line that allows it', async () => {
    const lines: string[] = [];
    const path = join(dir, 'new.key');
    const code = await main(['keygen', '--key', path], {
      env: { TINCAN_KEY_PASSPHRASE: 'pw' },
      out: (l) => lines.push(l),
    });
    assert.equal(code, 0, `keygen succeeds: ${lines.join('\n')}`);
    const identity = await readKeyFile(path, 'pw');
    const id = userIdOf(identity.publicKey);
    assert.ok(
      lines.some((l) => l.includes(`npx tincan keys add ${id} --roles member`)),
      'it prints the allowlist command for the new key',
    );
  });

  it('answers usage errors with exit code 2 and the usage', async () => {
    for (const [argv, env, why] of [
      [
        ['--key', keyPath, '--channel', 'Lounge', '--file', 'x.wav'],
        { TINCAN_KEY_PASSPHRASE: PASS },
        'no --server',
      ],
      [
        ['--server', t.server.url, '--key', keyPath, '--channel', 'Lounge'],
        { TINCAN_KEY_PASSPHRASE: PASS },
        'nothing to do',
      ],
      [['--bogus'], {}, 'an unknown option'],
      [['keygen', '--key', join(dir, 'k2')], {}, 'no passphrase'],
    ] as const) {
      const lines: string[] = [];
      const code = await main([...argv], { env, out: (l) => lines.push(l) });
      assert.equal(code, 2, `${why}: exit 2`);
      assert.ok(lines.join('\n').includes('usage:'), `${why}: the usage is shown`);
    }
    const lines: string[] = [];
    const code = await main(
      ['--server', t.server.url, '--key', keyPath, '--channel', 'Lounge', '--file', join(dir, 'none.wav')],
      { env: { TINCAN_KEY_PASSPHRASE: PASS }, out: (l) => lines.push(l) },
    );
    assert.equal(code, 1, 'a missing file is a runtime failure: exit 1');
    assert.match(lines.join('\n'), /NOT_FOUND: cannot read/, 'it says what is missing');
  });

  it('plays --file into the channel as a spawned command and exits 0', async () => {
    const before = heard.length;
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'bot/music-bot.ts',
        '--server',
        t.server.url,
        '--key',
        keyPath,
        '--channel',
        'lounge',
        '--file',
        join(dir, 'tone.wav'),
      ],
      { env: { ...process.env, TINCAN_KEY_PASSPHRASE: PASS }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `the command exits 0:\n${output}`);
    assert.match(output, /joined Lounge as /, 'it says where it joined');
    assert.match(output, /tone: ended/, 'the file played to its end');
    await eventually(() =>
      assert.ok(heard.length - before >= 45, `the listener got ~50 frames (${heard.length - before})`),
    );
    const toned = heard.slice(before + 3).filter(Boolean).length;
    assert.ok(toned >= 40, `they hold the 523 Hz tone (${toned} of ${heard.length - before - 3})`);
    assert.equal((await stat(`${keyPath}.state.json`)).mode & 0o777, 0o600, 'its keys were kept, privately');
  });

  it('takes !list, !play, !np and !stop in a text channel and answers there', async () => {
    const stop = new AbortController();
    const lines: string[] = [];
    const running = main(
      ['--server', t.server.url, '--key', keyPath, '--channel', 'Lounge', '--text', 'general', '--dir', dir],
      { env: { TINCAN_KEY_PASSPHRASE: PASS }, out: (l) => lines.push(l), stop: stop.signal },
    );
    await eventually(
      () =>
        assert.ok(
          lines.some((l) => l.startsWith('taking commands')),
          lines.join('\n'),
        ),
      8000,
    );
    const fanSession = await session(t, fan.identity);
    const general = t.server.hub.channels.list().find((c) => c.name === 'general')!.id;
    const chat = fanSession.open(general);
    const replies = () => chat.messages.value.filter((m) => m.author === music.key).map((m) => m.text);
    await chat.send('!list');
    await eventually(() => assert.deepEqual(replies(), ['library: tone'], 'the library is listed'));
    const before = heard.length;
    await chat.send('!play tone');
    await eventually(() =>
      assert.match(replies()[1] ?? '', /^now playing tone \(1\.0 s\)/, 'it says what plays'),
    );
    await chat.send('!np');
    await eventually(() => assert.match(replies()[2] ?? '', /^playing: tone at /, 'and where it is'));
    await eventually(() => assert.ok(heard.length - before >= 20, 'the tone reaches the voice channel'));
    await chat.send('hello, not a command'); // seen before !stop, so answered (or not) before it
    await chat.send('!stop');
    await eventually(() => assert.equal(replies()[3], 'stopped', 'stopped'));
    assert.equal(replies().length, 4, 'plain messages get no answer');
    assert.ok(texts(chat).includes('hello, not a command'), 'and stay in the channel');
    stop.abort();
    assert.equal(await running, 0, `the bot leaves cleanly when stopped:\n${lines.join('\n')}`);
    fanSession.close();
  });
});
