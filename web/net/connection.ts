/**
 * One server's live connection, kept alive across drops: reconnects with the
 * policy's backoff, re-subscribes, and flushes an outbox of requests written while
 * offline. Outbox requests must be idempotent on the server (log.append carries a
 * client id), so a request whose answer was lost in a drop is simply sent again and
 * stored exactly once.
 *
 * State is a plain observable value: `connecting`, `online`, `reconnecting` (with
 * the time of the next try) or `offline` (terminal, with the reason).
 *
 * Liveness: a browser's WebSocket cannot see the server's pings, and a link that dies
 * without a FIN (a cut cable, a sleeping laptop, a NAT that forgot us) stays "open"
 * for minutes. So while online the connection pings the server itself and, without a
 * pong in time, treats the link as dropped: the UI says reconnecting and writes queue.
 */
import { CLOSE_CODES, type ErrorCode, ProtocolError } from '../../protocol/errors.ts';
import { ReconnectPolicy } from './reconnect.ts';
import { type ConnectOptions, codeForClose, SignalClient, type Welcome } from './signal-client.ts';

export type ConnectionState =
  | { status: 'connecting' }
  | { status: 'online'; welcome: Welcome }
  | { status: 'reconnecting'; nextAt: number; attempt: number; lastError: string }
  | { status: 'offline'; reason: string; code: string };

type Listener = (message: Record<string, unknown>) => void;

export interface Liveness {
  /** How often to ping while online. */
  intervalMs: number;
  /** How long a pong may take before the link counts as dead. */
  timeoutMs: number;
}

export const DEFAULT_LIVENESS: Liveness = { intervalMs: 15_000, timeoutMs: 5_000 };

interface Queued {
  type: string;
  fields: Record<string, unknown>;
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  /** The client it is in flight on, so a flush does not send it twice on one connection. */
  sentOn?: SignalClient;
}

export class ServerConnection {
  state: ConnectionState = { status: 'connecting' };
  private client: SignalClient | undefined;
  private readonly policy: ReconnectPolicy;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly stateListeners = new Set<(s: ConnectionState) => void>();
  private readonly subscriptions = new Map<string, Set<string>>();
  private readonly outbox: Queued[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private attempt = 0;
  private stopped = false;
  /** The invite is for the first connection only; afterwards we are a member. */
  private options: ConnectOptions;
  private pinger: ReturnType<typeof setInterval> | undefined;
  private pongDue: ReturnType<typeof setTimeout> | undefined;

  constructor(
    options: ConnectOptions,
    policy = new ReconnectPolicy(),
    private readonly liveness: Liveness = DEFAULT_LIVENESS,
  ) {
    this.options = options;
    this.policy = policy;
  }

  start(): this {
    void this.open();
    return this;
  }

  private setState(state: ConnectionState): void {
    this.state = state;
    for (const l of this.stateListeners) l(state);
  }

  onState(listener: (s: ConnectionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private async open(): Promise<void> {
    if (this.stopped) return;
    if (this.state.status !== 'reconnecting') this.setState({ status: 'connecting' });
    let openedAt = 0;
    try {
      const client = await SignalClient.connect(this.options);
      if (this.stopped) {
        client.close();
        return;
      }
      openedAt = Date.now();
      this.client = client;
      this.attempt = 0;
      const { invite: _invite, name: _name, ...rest } = this.options;
      this.options = { ...rest, expectServer: client.welcome.server.id };
      client.on('*', (m) => this.dispatch(m));
      client.on('close', (m) => {
        if (this.client === client) this.dropped(Number(m.code), Date.now() - openedAt);
      });
      client.on('pong', () => {
        clearTimeout(this.pongDue);
        this.pongDue = undefined;
      });
      this.watch(client, openedAt);
      for (const [room, topics] of this.subscriptions) client.subscribe([...topics], room || undefined);
      this.setState({ status: 'online', welcome: client.welcome });
      this.dispatch({ type: 'welcome', ...client.welcome });
      this.flush();
    } catch (error) {
      const code: ErrorCode = error instanceof ProtocolError ? error.code : 'INTERNAL';
      this.retry(code, closeFor(code), 0, String((error as Error).message ?? error));
    }
  }

  /** Pings the server while `client` is the connection; no pong in time: the link is dead. */
  private watch(client: SignalClient, openedAt: number): void {
    this.unwatch();
    this.pinger = setInterval(() => {
      if (this.client !== client) return this.unwatch();
      if (this.pongDue !== undefined) return; // a ping is still out: its deadline stands
      this.pongDue = setTimeout(() => {
        if (this.client !== client) return;
        // Do not wait for the socket to notice: it may not for minutes.
        this.dropped(CLOSE_CODES.TIMEOUT, Date.now() - openedAt, 'no answer from the server');
        client.close();
      }, this.liveness.timeoutMs);
      client.send({ type: 'ping' });
    }, this.liveness.intervalMs);
  }

  private unwatch(): void {
    clearInterval(this.pinger);
    clearTimeout(this.pongDue);
    this.pinger = undefined;
    this.pongDue = undefined;
  }

  private dropped(closeCode: number, upMs: number, why = `closed with ${closeCode}`): void {
    this.unwatch();
    this.client = undefined;
    if (this.stopped) return;
    this.retry(codeForClose(closeCode), closeCode, upMs, why);
  }

  private retry(code: ErrorCode, closeCode: number, upMs: number, message: string): void {
    const delay = this.policy.next(closeCode, upMs);
    if (delay === null) {
      this.setState({ status: 'offline', reason: message, code });
      for (const q of this.outbox.splice(0)) q.reject(new ProtocolError('AUTH_FAILED', message));
      return;
    }
    this.attempt++;
    this.setState({
      status: 'reconnecting',
      nextAt: Date.now() + delay,
      attempt: this.attempt,
      lastError: message,
    });
    this.timer = setTimeout(() => void this.open(), delay);
  }

  /** Connects now instead of waiting for the next scheduled try. */
  retryNow(): void {
    if (this.state.status !== 'reconnecting') return;
    clearTimeout(this.timer);
    void this.open();
  }

  private dispatch(message: Record<string, unknown>): void {
    const type = String(message.type);
    for (const l of this.listeners.get(type) ?? []) l(message);
    for (const l of this.listeners.get('*') ?? []) l(message);
  }

  on(type: string, listener: Listener): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** A request now; rejects if offline. For reads and moderation. */
  request(type: string, fields: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    if (!this.client) return Promise.reject(new ProtocolError('TIMEOUT', 'not connected'));
    return this.client.request(type, fields);
  }

  /**
   * An idempotent request that must happen exactly once: sent now if online, else
   * queued and sent on reconnect; re-sent if the connection drops before the answer.
   */
  enqueue(type: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.outbox.push({ type, fields, resolve, reject });
      this.flush();
    });
  }

  get queued(): number {
    return this.outbox.length;
  }

  private flush(): void {
    const client = this.client;
    if (!client) return;
    const remove = (q: Queued) => {
      const i = this.outbox.indexOf(q);
      if (i !== -1) this.outbox.splice(i, 1);
    };
    for (const q of [...this.outbox]) {
      if (q.sentOn === client) continue; // already in flight on this connection
      q.sentOn = client;
      client.request(q.type, q.fields).then(
        (reply) => {
          remove(q);
          q.resolve(reply);
        },
        (error: ProtocolError) => {
          // Lost with the connection: stays queued for the next one. Refused: reported.
          if (this.client === client && error.code !== 'TIMEOUT') {
            remove(q);
            q.reject(error);
          } else if (q.sentOn === client) q.sentOn = undefined;
        },
      );
    }
  }

  subscribe(topics: string[], room = ''): void {
    let set = this.subscriptions.get(room);
    if (!set) this.subscriptions.set(room, (set = new Set()));
    for (const t of topics) set.add(t);
    this.client?.subscribe(topics, room || undefined);
  }

  unsubscribe(topics: string[], room = ''): void {
    const set = this.subscriptions.get(room);
    for (const t of topics) set?.delete(t);
    this.client?.send({ type: 'unsubscribe', topics, room: room || undefined });
  }

  publish(topic: string, data: unknown, room = ''): void {
    this.client?.publish(topic, data, room || undefined);
  }

  close(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unwatch();
    this.client?.close();
    this.client = undefined;
  }
}

/** A close status standing for a failure before the welcome (so the policy can judge it). */
function closeFor(code: ErrorCode): number {
  return (CLOSE_CODES as Partial<Record<ErrorCode, number>>)[code] ?? 1006;
}
