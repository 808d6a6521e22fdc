/**
 * A Node relay client for tests and benchmarks: `ws` for the socket and, when asked,
 * a node-datachannel data channel (unordered, no retransmits) negotiated over it.
 * Not for production use (the browser client lives in web/voice/relay/).
 */
import { WebSocket } from 'ws';
import type { ErrorCode } from '../protocol/errors.ts';
import { encodeRelay, parseServerRelayMessage, type RelaySignal } from '../protocol/relay.ts';

export interface Received {
  readonly slot: number;
  readonly seq: number;
  readonly frame: Uint8Array;
  readonly via: 'ws' | 'dc';
  readonly at: number;
}

type NdcPeer = import('node-datachannel').PeerConnection;
type NdcChannel = import('node-datachannel').DataChannel;

export class RelayTestClient {
  slot = -1;
  readonly peers = new Map<number, Uint8Array>();
  readonly received: Received[] = [];
  readonly errors: ErrorCode[] = [];
  /** The PONGs received, in order: their nonce and the transport they came on. */
  readonly pongs: { nonce: number; via: 'ws' | 'dc' }[] = [];
  closeCode: number | undefined;
  onForward: ((r: Received) => void) | undefined;
  private pc: NdcPeer | undefined;
  private dc: NdcChannel | undefined;
  private answered = false;
  private early: { candidate: string; mid: string }[] = [];
  /** Every candidate the relay offered this client's data channel (in its answer, then trickled). */
  readonly relayCandidates: string[] = [];
  /** Candidates libdatachannel refused to add (see addCandidate). */
  readonly candidateErrors: string[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary && data instanceof Uint8Array) this.onMessage(data, 'ws');
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
    ws.on('error', () => {
      // The close event follows and records the code.
    });
  }

  /** Opens the socket and sends HELLO; resolves once JOINED (or rejects with the ERROR code). */
  static async connect(
    url: string,
    ticket: Uint8Array,
    timeoutMs = 5000,
    headers?: Record<string, string>,
  ): Promise<RelayTestClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...(headers ? { headers } : {}) });
    const client = new RelayTestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(encodeRelay.hello(ticket));
    await client.until(() => client.slot >= 0 || client.closeCode !== undefined, timeoutMs, 'JOINED');
    if (client.slot < 0) throw Object.assign(new Error(`refused: ${client.errors.join(',')}`), { client });
    return client;
  }

  /** Opens a raw socket and sends `first` as is (bad-input tests). */
  static async raw(url: string, first: Uint8Array | string): Promise<RelayTestClient> {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const client = new RelayTestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.send(first);
    return client;
  }

  private onMessage(bytes: Uint8Array, via: 'ws' | 'dc'): void {
    const m = parseServerRelayMessage(bytes);
    switch (m.type) {
      case 'joined':
        this.slot = m.slot;
        break;
      case 'forward': {
        const r = { slot: m.slot, seq: m.seq, frame: new Uint8Array(m.frame), via, at: performance.now() };
        if (this.onForward) this.onForward(r);
        else this.received.push(r);
        break;
      }
      case 'peer':
        this.peers.set(m.slot, m.user);
        break;
      case 'gone':
        this.peers.delete(m.slot);
        break;
      case 'error':
        this.errors.push(m.code);
        break;
      case 'signal':
        this.onSignal(m.signal);
        break;
      case 'pong':
        this.pongs.push({ nonce: m.nonce, via });
        break;
      case 'invalid':
        throw new Error(`relay sent an invalid message: ${m.message}`);
      default: {
        const unreachable: never = m;
        throw new Error(`unhandled ${(unreachable as { type: string }).type}`);
      }
    }
    this.wake();
  }

  /**
   * Negotiates a data channel over the socket; resolves when it is open and the relay
   * knows (a PING over it, as RelayClient sends on open: the relay forwards over the
   * channel the client's own voice traffic takes).
   */
  async openDataChannel(options: { bindAddress?: string; timeoutMs?: number } = {}): Promise<void> {
    const { bindAddress = '127.0.0.1', timeoutMs = 10_000 } = options;
    const ndc = await import('node-datachannel');
    const pc = new ndc.PeerConnection(`client-${this.slot}`, { iceServers: [], bindAddress });
    this.pc = pc;
    pc.onLocalDescription((sdp, type) => {
      if (type === 'offer') this.ws.send(encodeRelay.signal({ kind: 'offer', sdp }));
    });
    pc.onLocalCandidate((candidate, mid) =>
      this.ws.send(encodeRelay.signal({ kind: 'candidate', candidate, mid })),
    );
    const dc = pc.createDataChannel('voice', { unordered: true, maxRetransmits: 0 });
    this.dc = dc;
    dc.onMessage((msg) => {
      if (typeof msg !== 'string')
        this.onMessage(msg instanceof Uint8Array ? msg : new Uint8Array(msg), 'dc');
    });
    let open = false;
    dc.onOpen(() => {
      open = true;
      this.wake();
    });
    await this.until(() => open, timeoutMs, 'data channel open');
    const nonce = 0xffff_fffe; // this handshake's own, kept out of `pongs`
    dc.sendMessageBinary(encodeRelay.ping(nonce));
    const ours = () => this.pongs.findIndex((p) => p.nonce === nonce && p.via === 'dc');
    await this.until(() => ours() >= 0, timeoutMs, 'the PONG over the data channel');
    this.pongs.splice(ours(), 1);
  }

  private onSignal(signal: RelaySignal): void {
    const pc = this.pc;
    if (!pc) return;
    if (signal.kind === 'answer') {
      for (const line of signal.sdp.split(/\r?\n/))
        if (line.startsWith('a=candidate:')) this.relayCandidates.push(line.slice(2));
      pc.setRemoteDescription(signal.sdp, 'answer');
      for (const c of this.early.splice(0)) this.addCandidate(pc, c);
      this.answered = true;
    } else if (signal.kind === 'candidate') {
      this.relayCandidates.push(signal.candidate);
      // A candidate can overtake the answer (libdatachannel refuses one before it).
      if (this.answered) this.addCandidate(pc, signal);
      else this.early.push(signal);
    }
  }

  /**
   * One of the relay's candidates, for ICE. libdatachannel throws when its ICE transport
   * is gone meanwhile (seen under the relay bench's load): counted, not fatal, since
   * `openDataChannel` says whether the channel opened after all.
   */
  private addCandidate(pc: NdcPeer, c: { candidate: string; mid: string }): void {
    try {
      pc.addRemoteCandidate(c.candidate, c.mid);
    } catch (error) {
      this.candidateErrors.push((error as Error).message);
    }
  }

  get dataChannelOpen(): boolean {
    return this.dc?.isOpen() === true;
  }

  /** Sends a FRAME over the data channel when open, else the socket. */
  sendFrame(frame: Uint8Array): void {
    const bytes = encodeRelay.frame(frame);
    if (this.dc?.isOpen()) this.dc.sendMessageBinary(bytes);
    else this.ws.send(bytes);
  }

  send(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  /** Sends a PING over the data channel when open, else the socket. */
  ping(nonce: number): void {
    const bytes = encodeRelay.ping(nonce);
    if (this.dc?.isOpen()) this.dc.sendMessageBinary(bytes);
    else this.ws.send(bytes);
  }

  /** Resolves when `predicate` holds (checked on every message), rejects after `ms`. */
  until(predicate: () => boolean, ms: number, what: string): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`expected ${what} within ${ms} ms`));
      }, ms);
      this.waiters.add(check);
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  close(): void {
    try {
      this.dc?.close();
      this.pc?.close();
    } catch {
      // Already torn down by libdatachannel.
    }
    this.ws.terminate();
  }
}
