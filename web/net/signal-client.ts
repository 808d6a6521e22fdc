/**
 * The client side of the signal protocol: connect, answer the server's challenge,
 * then send requests (promises keyed by `ref`) and pub/sub frames, and receive
 * pushes as typed events. Isomorphic: give it the browser's `WebSocket` or `ws`'s.
 * Reconnection is the caller's policy (see reconnect.ts); one instance is one
 * connection.
 */
import { fromBase64url, toBase64url } from '../../crypto/bytes.ts';
import { solvePow } from '../../crypto/pow.ts';
import { type Signer, signStatement } from '../../crypto/sign.ts';
import { AUTH_CONTEXT, authFields } from '../../protocol/auth.ts';
import { type ErrorCode, errorCodeForClose, isErrorCode, ProtocolError } from '../../protocol/errors.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';

/** The subset of the WebSocket API this client uses (browser WebSocket and `ws` both fit). */
export interface SocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'close' | 'error' | 'message', listener: (event: never) => void): void;
}
export type SocketFactory = (url: string) => SocketLike;

export interface Welcome {
  session: string;
  user: { key: string; name: string; roles: string[]; permissions: string[] };
  server: { id: string; name: string; fingerprint: string; open: boolean; fixedChannels: boolean };
  /** base64url Yjs state of the channel tree. */
  channels: string;
  members: unknown[];
  /** Membership epoch: group keys rotate when it rises. */
  epoch: number;
}

export interface ConnectOptions {
  url: string;
  signer: Signer;
  socket: SocketFactory;
  /** Invite token (the signed part of the link) and a display name, to join. */
  invite?: string;
  name?: string;
  /** The server key to insist on (from an invite link or an earlier visit). */
  expectServer?: string;
  /**
   * A check of the server key before anything is sent (an invite link names the
   * server by a hash of its key): false refuses the server with AUTH_FAILED.
   */
  acceptServer?: (serverKey: string) => boolean;
  timeoutMs?: number;
  now?: () => number;
}

type Listener = (message: Record<string, unknown>) => void;

export class SignalClient {
  private nextRef = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }
  >();
  private readonly listeners = new Map<string, Set<Listener>>();
  closeCode: number | undefined;

  private constructor(
    private readonly socket: SocketLike,
    readonly welcome: Welcome,
  ) {}

  /** Opens the socket, authenticates, and resolves with a ready client (or rejects with a ProtocolError). */
  static connect(options: ConnectOptions): Promise<SignalClient> {
    const now = options.now ?? Date.now;
    return new Promise((resolve, reject) => {
      const socket = options.socket(options.url);
      let client: SignalClient | undefined;
      const early: Record<string, unknown>[] = [];
      const timer = setTimeout(() => {
        reject(new ProtocolError('TIMEOUT', 'no welcome in time'));
        socket.close();
      }, options.timeoutMs ?? 10_000);
      socket.addEventListener('message', ((event: { data: unknown }) => {
        let msg: Record<string, unknown>;
        try {
          msg = JSON.parse(String(event.data)) as Record<string, unknown>;
        } catch {
          return; // the server only sends JSON; anything else is ignored
        }
        if (client) return client.onMessage(msg);
        if (msg.type === 'hello') {
          answerHello(msg, options, now()).then(
            (answer) => socket.send(JSON.stringify(answer)),
            (error: unknown) => {
              clearTimeout(timer);
              reject(error);
              socket.close();
            },
          );
        } else if (msg.type === 'welcome') {
          clearTimeout(timer);
          client = new SignalClient(socket, msg as unknown as Welcome);
          resolve(client);
          for (const m of early) client.onMessage(m);
        } else if (msg.type === 'error') {
          clearTimeout(timer);
          reject(toError(msg));
        } else early.push(msg);
      }) as (event: never) => void);
      socket.addEventListener('close', ((event: { code: number }) => {
        clearTimeout(timer);
        if (!client) reject(new ProtocolError(codeForClose(event.code), `closed with ${event.code}`));
        else client.onClose(event.code);
      }) as (event: never) => void);
      socket.addEventListener('error', (() => {
        // 'close' follows and reports; nothing to add here.
      }) as (event: never) => void);
    });
  }

  private onMessage(msg: Record<string, unknown>): void {
    if ((msg.type === 'ok' || msg.type === 'error') && typeof msg.ref === 'number') {
      const p = this.pending.get(msg.ref);
      if (p) {
        this.pending.delete(msg.ref);
        if (msg.type === 'ok') p.resolve(msg);
        else p.reject(toError(msg));
        return;
      }
    }
    const type = String(msg.type);
    for (const l of this.listeners.get(type) ?? []) l(msg);
    for (const l of this.listeners.get('*') ?? []) l(msg);
  }

  private onClose(code: number): void {
    this.closeCode = code;
    for (const p of this.pending.values())
      p.reject(new ProtocolError(codeForClose(code), `closed with ${code}`));
    this.pending.clear();
    for (const l of this.listeners.get('close') ?? []) l({ type: 'close', code });
  }

  /** Listens for a pushed message type (`*` for all, `close` for the end). Returns an unsubscribe function. */
  on(type: string, listener: Listener): () => void {
    let set = this.listeners.get(type);
    if (!set) this.listeners.set(type, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Sends a request and resolves with the `ok` reply, or rejects with the server's ProtocolError. */
  request(
    type: string,
    fields: Record<string, unknown> = {},
    timeoutMs = 10_000,
  ): Promise<Record<string, unknown>> {
    const ref = this.nextRef++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new ProtocolError('TIMEOUT', `${type} not answered in time`, ref));
      }, timeoutMs);
      this.pending.set(ref, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.send({ type, ref, ...fields });
    });
  }

  /** Sends a frame with no reply (pub/sub, ping). */
  send(message: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(message));
  }

  subscribe(topics: string[], room?: string): void {
    this.send({ type: 'subscribe', topics, room });
  }

  publish(topic: string, data: unknown, room?: string): void {
    this.send({ type: 'publish', topic, room, data });
  }

  close(): void {
    this.socket.close(1000);
  }
}

async function answerHello(
  hello: Record<string, unknown>,
  options: ConnectOptions,
  time: number,
): Promise<object> {
  const server = String(hello.server);
  const nonce = String(hello.nonce);
  if (hello.v !== PROTOCOL_VERSION)
    throw new ProtocolError('UNSUPPORTED_VERSION', `server speaks v${String(hello.v)}`);
  if (options.expectServer !== undefined && server !== options.expectServer) {
    throw new ProtocolError('AUTH_FAILED', 'the server key does not match the one expected');
  }
  if (options.acceptServer !== undefined && !options.acceptServer(server)) {
    throw new ProtocolError('AUTH_FAILED', 'the server is not the one the invite names');
  }
  const key = toBase64url(options.signer.publicKey);
  const sig = await signStatement(
    options.signer,
    AUTH_CONTEXT,
    authFields({ serverId: server, nonce, time, key }),
  );
  const answer: Record<string, unknown> = {
    type: 'auth',
    v: PROTOCOL_VERSION,
    key,
    time,
    sig: toBase64url(sig),
  };
  const pow = hello.pow as { challenge?: string; difficulty?: number } | undefined;
  if (pow?.challenge && typeof pow.difficulty === 'number') {
    const solution = solvePow(fromBase64url(pow.challenge), pow.difficulty);
    if (solution) answer.pow = toBase64url(solution);
  }
  if (options.invite !== undefined) answer.invite = options.invite;
  if (options.name !== undefined) answer.name = options.name;
  return answer;
}

function toError(msg: Record<string, unknown>): ProtocolError {
  const code: ErrorCode = isErrorCode(msg.code) ? msg.code : 'INTERNAL';
  return new ProtocolError(
    code,
    String(msg.message ?? code),
    typeof msg.ref === 'number' ? msg.ref : undefined,
  );
}

/** The error a close code stands for (INTERNAL for codes outside ours). */
export function codeForClose(code: number): ErrorCode {
  return errorCodeForClose(code) ?? 'INTERNAL';
}
