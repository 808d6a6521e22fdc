/**
 * `<tc-voice>`: my voice call on a server (`server.voice`, core/voice-call.ts over the
 * engine of web/voice). Full form (above a voice channel's chat): who is in the call,
 * who speaks (a ring, and "speaking" for screen readers), each one's volume 0–200 %
 * and a local mute, their route (direct or TURN) with RTT, loss and jitter; mute,
 * deafen, leave; screen share and camera, with the others' video as tiles that
 * enlarge on click; an audio file played into the channel; input mode (voice
 * activity, push-to-talk with a chosen key, open mic), devices and audio
 * processing. `compact` (at the foot of the channel list): status, mute, deafen,
 * leave. Renders nothing while no call is joined or joining, except in full form
 * for `channel`, where it offers to join.
 *
 * Push-to-talk listens on the window: browsers hand keys to the focused page only,
 * and never while the key goes to a text field (typing the key there types it).
 *
 * @fires tc-ptt-key - {key} the person picked a new push-to-talk key (a KeyboardEvent.code).
 */
import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { customElement, property, state } from 'lit/decorators.js';
import { ObserveAllController } from '../../controllers/observe-all.ts';
import type { Observable, ServerView } from '../../core/model.ts';
import { VIDEO_ON_RELAY, type VoiceCall } from '../../core/voice-call.ts';
import { emit } from '../../ui/events.ts';
import { describeError, nameOf } from '../../ui/format.ts';
import { icon } from '../../ui/icons.ts';
import { base } from '../../ui/theme.styles.ts';
import type { PeerStats } from '../../voice/peer-stats.ts';
import type { RelayPeerStats } from '../../voice/relay-route.ts';
import type { VideoTile } from '../../voice/remote-video.ts';
import type { VoiceParticipant } from '../../voice/remote-voices.ts';
import type { InputMode } from '../../voice/transmit.ts';
import { styles } from './voice.styles.ts';

declare global {
  interface HTMLElementTagNameMap {
    'tc-voice': TcVoice;
  }
  interface GlobalEventHandlersEventMap {
    'tc-ptt-key': CustomEvent<{ key: string }>;
  }
}

const MODE_LABELS: Record<InputMode, string> = {
  'voice-activity': 'Voice activity',
  'push-to-talk': 'Push to talk',
  'open-mic': 'Always on',
};

/** "0 % loss", with a decimal under 1 %. */
const lossText = (loss: number): string => `${(loss * 100).toFixed(loss > 0 && loss < 0.01 ? 1 : 0)} % loss`;

/** "direct · 3 ms · 0 % loss · 1 ms jitter", or what is known so far. */
export function describeRoute(s: PeerStats | undefined): string {
  if (!s || s.route === null) return 'connecting…';
  const parts: string[] = [s.route === 'turn' ? 'TURN relay' : 'direct'];
  if (s.rttMs !== null) parts.push(`${Math.round(s.rttMs)} ms`);
  if (s.loss !== null) parts.push(lossText(s.loss));
  if (s.jitterMs !== null) parts.push(`${Math.round(s.jitterMs)} ms jitter`);
  return parts.join(' · ');
}

/** "relay (data channel) · 12 ms · 0 % loss · 3 ms jitter · 40 ms buffer". */
export function describeRelay(s: RelayPeerStats | undefined): string {
  if (!s) return 'relay';
  const parts = [`relay (${s.transport === 'datachannel' ? 'data channel' : 'WebSocket'})`];
  if (s.rttMs !== null) parts.push(`${Math.round(s.rttMs)} ms`);
  if (s.loss !== null) parts.push(lossText(s.loss));
  if (s.jitterMs !== null) parts.push(`${Math.round(s.jitterMs)} ms jitter`);
  parts.push(`${Math.round(s.bufferMs)} ms buffer`);
  return parts.join(' · ');
}

/** A KeyboardEvent.code as a person reads it ("KeyT" → "T", "Backquote" → "`"). */
export function keyName(code: string): string {
  if (/^Key[A-Z]$/.test(code)) return code.slice(3);
  if (/^Digit\d$/.test(code)) return code.slice(5);
  const named: Record<string, string> = { Backquote: '`', Space: 'Space', CapsLock: 'Caps Lock' };
  return named[code] ?? code;
}

const isTextField = (target: EventTarget | null): boolean => {
  const el = target instanceof Element ? target : null;
  if (!el) return false;
  if (el instanceof HTMLTextAreaElement || (el instanceof HTMLElement && el.isContentEditable)) return true;
  return (
    el instanceof HTMLInputElement && !['checkbox', 'radio', 'range', 'button', 'file'].includes(el.type)
  );
};

@customElement('tc-voice')
export class TcVoice extends LitElement {
  static override styles = [base, styles];

  @property({ attribute: false }) server: ServerView | undefined;
  /** The voice channel shown beside (full form): offers to join it when I am not in it. */
  @property() channel: string | undefined;
  @property({ type: Boolean, reflect: true }) compact = false;
  /** KeyboardEvent.code of the push-to-talk key. */
  @property({ attribute: 'ptt-key' }) pttKey = 'Backquote';
  @state() private enlarged: MediaStreamTrack | undefined;
  @state() private pickingKey = false;
  @state() private devices: MediaDeviceInfo[] = [];
  @state() private actionError = '';

  protected readonly observed = new ObserveAllController(this, () => {
    const call = this.call;
    if (!call) return this.server ? [this.server.members] : [];
    const e = call.engine;
    const list: Observable<unknown>[] = [
      call.status,
      call.channel,
      call.problem,
      call.speakBlocked,
      call.route,
      call.relayStatus,
      call.video,
      e.muted,
      e.deafened,
      e.inputMode,
      e.transmitting,
      e.participants,
      e.volumes,
      e.localMutes,
      e.processing,
      e.inputDevice,
      e.outputDevice,
      e.file,
      e.screen,
      e.camera,
      e.error,
      e.speaking,
      e.localSpeaking,
    ];
    if (!this.server) return list;
    list.push(this.server.members, this.server.channels);
    // Levels and stats change many times a second: only the full form shows them.
    if (!this.compact) list.push(e.level, e.stats, e.tiles);
    return list;
  });

  get call(): VoiceCall | undefined {
    return this.server?.voice;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('keydown', this.onKey);
    window.addEventListener('keyup', this.onKey);
    window.addEventListener('blur', this.onBlur);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('keydown', this.onKey);
    window.removeEventListener('keyup', this.onKey);
    window.removeEventListener('blur', this.onBlur);
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    // Video elements take their streams through the DOM property, not an attribute.
    for (const video of this.renderRoot.querySelectorAll<HTMLVideoElement & { tcStream?: MediaStream }>(
      'video[data-track]',
    )) {
      const tile = this.call?.engine.tiles.value.find((t) => t.track.id === video.dataset.track);
      if (tile && video.srcObject !== tile.stream) video.srcObject = tile.stream;
    }
  }

  private readonly onKey = (event: KeyboardEvent): void => {
    const call = this.call;
    if (this.pickingKey && event.type === 'keydown') {
      event.preventDefault();
      this.pickingKey = false;
      if (event.code !== 'Escape') emit(this, 'tc-ptt-key', { key: event.code });
      return;
    }
    // Only one element drives push-to-talk: the compact bar, which is always there in a call.
    if (!this.compact || !call || call.status.value !== 'joined') return;
    if (call.engine.inputMode.value !== 'push-to-talk' || event.code !== this.pttKey) return;
    if (isTextField(event.composedPath()[0] ?? null)) return;
    if (event.repeat) return;
    event.preventDefault();
    call.engine.pressed(event.type === 'keydown');
  };

  private readonly onBlur = (): void => {
    // A key released while the page had no focus never reaches us: stop talking.
    if (this.compact && this.call?.engine.pushToTalkHeld.value) this.call.engine.pressed(false);
  };

  private async act(work: () => unknown): Promise<void> {
    this.actionError = '';
    try {
      await work();
    } catch (error) {
      this.actionError = describeError(error);
    }
  }

  private async loadDevices(): Promise<void> {
    try {
      this.devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      this.devices = [];
    }
  }

  private nameOf(userId: string): string {
    return nameOf(userId, this.server?.members.value);
  }

  private channelName(id: string | undefined): string {
    return this.server?.channels.value.find((c) => c.id === id)?.name ?? 'voice';
  }

  private renderStatus(call: VoiceCall) {
    const status = call.status.value;
    const where = this.channelName(call.channel.value);
    const route =
      call.route.value === 'relay'
        ? call.relayStatus.value === 'joined'
          ? ' · via the relay'
          : ' · relay reconnecting…'
        : '';
    const text =
      status === 'joined'
        ? `Voice connected · ${where}${route}`
        : status === 'joining'
          ? `Joining ${where}…`
          : status === 'full'
            ? `${where} is full for a direct call`
            : `Could not join ${where}`;
    return html`<div class="status ${status}" role="status">
      ${icon('speaker')}<span class="state">${text}</span>
      ${call.speakBlocked.value ? html`<span class="note">The server has muted you.</span>` : nothing}
    </div>
    ${call.problem.value ? html`<p class="problem" role="alert">${call.problem.value}</p>` : nothing}
    ${call.engine.error.value ? html`<p class="problem" role="alert">${call.engine.error.value.message}</p>` : nothing}
    ${this.actionError ? html`<p class="problem" role="alert">${this.actionError}</p>` : nothing}`;
  }

  private renderControls(call: VoiceCall) {
    const e = call.engine;
    const joined = call.status.value === 'joined';
    // Video travels the mesh, which a relay call leaves past the mesh limit (voice-call.ts).
    const video = joined && call.video.value;
    const videoTitle = joined && !video ? VIDEO_ON_RELAY : nothing;
    return html`<div class="controls" role="group" aria-label="Call controls">
      <button type="button" class="mute" aria-pressed=${String(e.muted.value)} ?disabled=${!joined || call.speakBlocked.value}
        @click=${() => call.setMuted(!e.muted.value)}>${e.muted.value ? 'Unmute' : 'Mute'}</button>
      <button type="button" class="deafen" aria-pressed=${String(e.deafened.value)} ?disabled=${!joined}
        @click=${() => e.setDeafened(!e.deafened.value)}>${e.deafened.value ? 'Undeafen' : 'Deafen'}</button>
      ${
        this.compact
          ? nothing
          : html`<button type="button" class="share screen" aria-pressed=${String(e.screen.value !== null)} ?disabled=${!video} title=${videoTitle}
              @click=${() => this.act(() => (e.screen.value ? e.stopScreenShare() : e.startScreenShare()))}>
              ${e.screen.value ? 'Stop sharing' : 'Share screen'}</button>
            <button type="button" class="share camera" aria-pressed=${String(e.camera.value !== null)} ?disabled=${!video} title=${videoTitle}
              @click=${() => this.act(() => (e.camera.value ? e.stopCamera() : e.startCamera()))}>
              ${e.camera.value ? 'Camera off' : 'Camera'}</button>`
      }
      <button type="button" class="danger leave" @click=${() => this.act(() => call.leave())}>Leave</button>
    </div>`;
  }

  private renderParticipant(call: VoiceCall, p: VoiceParticipant) {
    const e = call.engine;
    const name = this.nameOf(p.userId);
    const speaking = e.speaking.value[p.peerId] === true;
    const volume = Math.round((e.volumes.value[p.userId] ?? 1) * 100);
    const localMute = e.localMutes.value[p.userId] === true;
    const presence = this.server?.members.value.find((m) => m.key === p.userId);
    const state = presence?.voice.find((v) => v.channel === call.channel.value);
    const flags = [
      speaking ? 'speaking' : '',
      state?.muted ? 'muted' : '',
      state?.deafened ? 'deafened' : '',
      presence?.serverMuted ? 'muted by the server' : '',
    ].filter(Boolean);
    return html`<li class="participant ${speaking ? 'speaking' : ''}" data-user=${p.userId}>
      <span class="name">${name}</span>
      <span class="flags">${flags.join(', ')}</span>
      <label class="local-mute"><input type="checkbox" .checked=${localMute}
        @change=${(ev: Event) => e.setLocalMute(p.userId, (ev.target as HTMLInputElement).checked)} />Mute for me</label>
      <label class="volume">Volume
        <input type="range" min="0" max="200" step="5" .value=${String(volume)} aria-label=${`Volume of ${name}`}
          aria-valuetext=${`${volume} %`}
          @input=${(ev: Event) => e.setVolume(p.userId, Number((ev.target as HTMLInputElement).value) / 100)} />
        <output>${volume} %</output></label>
      <span class="route">${
        p.via === 'relay' ? describeRelay(e.relayPeerStats(p.peerId)) : describeRoute(e.stats.value[p.peerId])
      }</span>
    </li>`;
  }

  private renderTiles(tiles: readonly VideoTile[]) {
    if (tiles.length === 0) return nothing;
    return html`<div class="tiles" aria-label="Shared video">
      ${tiles.map((t) => {
        const label = `${t.kind === 'screen' ? 'Screen' : 'Camera'} of ${this.nameOf(t.userId)}`;
        const big = this.enlarged === t.track;
        return html`<button type="button" class="tile ${big ? 'enlarged' : ''}" aria-pressed=${String(big)}
          aria-label=${`${label}${big ? ', enlarged' : ''}`} @click=${() => (this.enlarged = big ? undefined : t.track)}>
          <video data-track=${t.track.id} autoplay playsinline muted></video>
          <span class="caption" aria-hidden="true">${label}</span>
        </button>`;
      })}
    </div>`;
  }

  private renderFile(call: VoiceCall) {
    const e = call.engine;
    const f = e.file.value;
    return html`<details class="file"><summary>Play a file into the channel</summary>
      <label>Audio file (mp3, ogg, wav)
        <input type="file" accept="audio/*,.mp3,.ogg,.wav"
          @change=${(ev: Event) => {
            const input = ev.target as HTMLInputElement;
            const file = input.files?.[0];
            if (file) void this.act(() => e.playFile(file, { mode: e.fileMode.value }));
          }} /></label>
      <label><input type="checkbox" .checked=${e.fileMode.value === 'replace'}
        @change=${(ev: Event) => e.setFileMode((ev.target as HTMLInputElement).checked ? 'replace' : 'mix')} />
        Instead of my microphone (else mixed with it)</label>
      <label>File volume <input type="range" min="0" max="200" step="5" .value=${String(Math.round(f.volume * 100))}
        aria-label="File volume" @input=${(ev: Event) => e.setFileVolume(Number((ev.target as HTMLInputElement).value) / 100)} /></label>
      <div class="controls">
        ${
          f.state === 'playing'
            ? html`<button type="button" @click=${() => e.pauseFile()}>Pause</button>`
            : f.state === 'paused'
              ? html`<button type="button" @click=${() => e.resumeFile()}>Resume</button>`
              : nothing
        }
        ${f.state !== 'idle' ? html`<button type="button" @click=${() => e.stopFile()}>Stop</button>` : nothing}
        <span class="note" role="status">${f.state === 'idle' ? 'No file playing' : `${f.state}, ${Math.round(f.duration)} s`}</span>
      </div>
    </details>`;
  }

  private renderSettings(call: VoiceCall) {
    const e = call.engine;
    const p = e.processing.value;
    const inputs = this.devices.filter((d) => d.kind === 'audioinput');
    const outputs = this.devices.filter((d) => d.kind === 'audiooutput');
    return html`<details class="settings" @toggle=${(ev: Event) => {
      if ((ev.target as HTMLDetailsElement).open) void this.loadDevices();
    }}><summary>Voice settings</summary>
      <label>Input mode <select @change=${(ev: Event) => e.setInputMode((ev.target as HTMLSelectElement).value as InputMode)}>
        ${(Object.keys(MODE_LABELS) as InputMode[]).map(
          (m) => html`<option value=${m} ?selected=${e.inputMode.value === m}>${MODE_LABELS[m]}</option>`,
        )}</select></label>
      ${
        e.inputMode.value === 'push-to-talk'
          ? html`<label>Push-to-talk key
              <button type="button" class="ptt-key" @click=${() => (this.pickingKey = true)}>
                ${this.pickingKey ? 'Press a key… (Esc cancels)' : keyName(this.pttKey)}</button></label>
            <p class="note">Browsers give keys only to the focused page: push-to-talk works while this tab has focus, and not while you type in a text field.</p>`
          : nothing
      }
      <label>Microphone <select @change=${(ev: Event) => this.act(() => e.setInputDevice((ev.target as HTMLSelectElement).value || undefined))}>
        <option value="">Default</option>
        ${inputs.map((d, i) => html`<option value=${d.deviceId} ?selected=${e.inputDevice.value === d.deviceId}>${d.label || `Microphone ${i + 1}`}</option>`)}
      </select></label>
      <label>Speakers <select @change=${(ev: Event) => this.act(() => e.setOutputDevice((ev.target as HTMLSelectElement).value))}>
        <option value="">Default</option>
        ${outputs.map((d, i) => html`<option value=${d.deviceId} ?selected=${e.outputDevice.value === d.deviceId}>${d.label || `Output ${i + 1}`}</option>`)}
      </select></label>
      <label><input type="checkbox" .checked=${p.echoCancellation}
        @change=${(ev: Event) => this.act(() => e.setProcessing({ echoCancellation: (ev.target as HTMLInputElement).checked }))} />Echo cancellation</label>
      <label><input type="checkbox" .checked=${p.noiseSuppression}
        @change=${(ev: Event) => this.act(() => e.setProcessing({ noiseSuppression: (ev.target as HTMLInputElement).checked }))} />Noise suppression</label>
      <label><input type="checkbox" .checked=${p.autoGainControl}
        @change=${(ev: Event) => this.act(() => e.setProcessing({ autoGainControl: (ev.target as HTMLInputElement).checked }))} />Automatic gain</label>
    </details>`;
  }

  private renderFull(call: VoiceCall) {
    const e = call.engine;
    const participants = e.participants.value;
    return html`${this.renderStatus(call)}${this.renderControls(call)}
      ${
        call.status.value === 'joined'
          ? html`<label class="meter">My level <meter min="0" max="1" .value=${e.level.value}
              aria-label="My microphone level"></meter>
              <span class="note">${e.transmitting.value ? 'sending' : 'not sending'}${e.localSpeaking.value ? ', speaking' : ''}</span></label>
            ${this.renderTiles(e.tiles.value)}
            <ul class="participants" aria-label="In the call">
              ${participants.length === 0 ? html`<li class="note">Nobody else is here yet.</li>` : nothing}
              ${participants.map((p) => this.renderParticipant(call, p))}
            </ul>
            ${this.renderFile(call)}${this.renderSettings(call)}`
          : nothing
      }`;
  }

  override render() {
    const call = this.call;
    if (!call)
      return this.compact ? nothing : html`<p class="note">Voice is not available in this browser.</p>`;
    const inCall = call.status.value !== 'idle';
    const here = this.channel !== undefined && call.channel.value === this.channel;
    if (this.compact) return inCall ? html`${this.renderStatus(call)}${this.renderControls(call)}` : nothing;
    if (!here || !inCall)
      return html`<div class="controls">
        <button type="button" class="primary join" @click=${() => this.channel && this.act(() => call.join(this.channel!))}>
          Join voice</button>
        ${inCall ? html`<span class="note">You are in ${this.channelName(call.channel.value)}; joining moves you here.</span>` : nothing}
      </div>
      ${!inCall && call.problem.value ? html`<p class="problem" role="alert">${call.problem.value}</p>` : nothing}`;
    return this.renderFull(call);
  }
}
