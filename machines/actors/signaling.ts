/**
 * Signaling actors: the PeerJS Peer, its configuration and the saved identity. The only code
 * that creates a Peer, reads localStorage for the ID, or holds the Web Lock on it.
 */
import { fromCallback, fromPromise } from 'xstate';
import type { DataConnection, MediaConnection, Peer } from 'peerjs';
import type { PhotoOffer } from './photo-offer';
import type { Refusal } from './peer-guard';
import { importOnce } from './lazy';

/** What `GET /signaling.json` answers when served by `npm start`. `cloud` means PeerJS's own
 * public server and ICE defaults. */
export interface SignalingConfig {
	cloud: boolean;
	host?: string;
	port?: number;
	path?: string;
	secure?: boolean;
	key?: string;
	iceServers?: RTCIceServer[];
	/** 'relay' forces media through TURN (privacy: hides host addresses from the far side). */
	iceTransportPolicy?: RTCIceTransportPolicy;
	/** Where it came from: the same-origin server, the last one remembered, or the defaults. */
	source: 'server' | 'remembered' | 'cloud';
}

const CONFIG_KEY = 'camcall.signaling';
const IDENTITY_KEY = 'camcall.identity';
const LOCK_NAME = 'camcall.identity';

export const cloudConfig: SignalingConfig = { cloud: true, source: 'cloud' };

function storage(): Storage | null {
	try {
		return typeof localStorage === 'undefined' ? null : localStorage;
	} catch {
		return null;
	}
}

/** How long `/signaling.json` may take (headers and body) before the app goes on without it:
 * a server or captive portal that accepts the connection and never answers must not hold
 * signaling in `connecting` for ever. */
export const CONFIG_TIMEOUT_MS = 5000;

/** Why `/signaling.json` gave no usable config: a non-2xx answer other than 404, no answer in
 * time, a body that is not JSON, JSON of the wrong shape, or no network at all. */
export type ConfigProblem = 'status' | 'timeout' | 'bad-json' | 'malformed' | 'network';

/** loadConfig's rejection when the server gave no usable config and none is remembered. */
export class ConfigUnavailableError extends Error {
	constructor(
		readonly problem: ConfigProblem,
		readonly detail: string
	) {
		super(`/signaling.json: ${detail}`);
		this.name = 'ConfigUnavailableError';
	}
}

const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const boundedString = (v: unknown, max: number, pattern?: RegExp): v is string =>
	typeof v === 'string' && v.length > 0 && v.length <= max && (!pattern || pattern.test(v));

/** A DNS name, an IPv4 address or a bracketed IPv6 literal: what a Host header names. */
const HOST = /^(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\])$/;
const PATH = /^\/[A-Za-z0-9._~/-]*$/;
const KEY = /^[A-Za-z0-9._-]+$/;
const ICE_URL = /^(?:stun|stuns|turn|turns):[^\s]+$/;

const optionalString = (v: unknown, max: number) => v === undefined || (typeof v === 'string' && v.length <= max);

function iceServer(v: unknown): RTCIceServer | null {
	if (!isRecord(v)) return null;
	const { urls, username, credential } = v;
	const list: unknown = typeof urls === 'string' ? [urls] : urls;
	if (!Array.isArray(list) || !list.length || list.length > 8) return null;
	if (!list.every((u) => boundedString(u, 512, ICE_URL))) return null;
	if (!optionalString(username, 512) || !optionalString(credential, 512)) return null;
	return {
		urls: typeof urls === 'string' ? urls : (list as string[]).slice(),
		...(username !== undefined ? { username: username as string } : {}),
		...(credential !== undefined ? { credential: credential as string } : {})
	};
}

/**
 * The server's config, checked field by field and rebuilt from those fields only, or null when
 * any is missing or wrong: `{ host, port, path, secure, key, iceServers }` and an optional
 * `iceTransportPolicy`. The same check guards what was remembered in localStorage.
 */
export function parseSignalingConfig(body: unknown): Omit<SignalingConfig, 'cloud' | 'source'> | null {
	if (!isRecord(body)) return null;
	const { host, port, path, secure, key, iceServers, iceTransportPolicy } = body;
	if (!boundedString(host, 253, HOST)) return null;
	if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return null;
	if (!boundedString(path, 256, PATH)) return null;
	if (typeof secure !== 'boolean') return null;
	if (!boundedString(key, 64, KEY)) return null;
	if (!Array.isArray(iceServers) || iceServers.length > 16) return null;
	const servers = iceServers.map(iceServer);
	if (servers.some((server) => !server)) return null;
	if (iceTransportPolicy !== undefined && iceTransportPolicy !== 'all' && iceTransportPolicy !== 'relay') return null;
	return {
		host,
		port,
		path,
		secure,
		key,
		iceServers: servers as RTCIceServer[],
		...(iceTransportPolicy ? { iceTransportPolicy } : {})
	};
}

/** The config the same-origin server gave last time, if it still passes the check. */
export function rememberedConfig(): SignalingConfig | null {
	try {
		const saved = storage()?.getItem(CONFIG_KEY);
		const parsed = saved ? parseSignalingConfig(JSON.parse(saved)) : null;
		return parsed ? { ...parsed, cloud: false, source: 'remembered' } : null;
	} catch {
		return null;
	}
}

function unavailable(err: unknown): ConfigUnavailableError {
	if (err instanceof ConfigUnavailableError) return err;
	const name = err && typeof err === 'object' && 'name' in err ? String((err as { name: unknown }).name) : '';
	if (name === 'TimeoutError' || name === 'AbortError') {
		return new ConfigUnavailableError('timeout', `no answer within ${CONFIG_TIMEOUT_MS / 1000} s`);
	}
	if (name === 'SyntaxError') return new ConfigUnavailableError('bad-json', 'the answer is not JSON');
	return new ConfigUnavailableError('network', 'network error');
}

/**
 * 200 with a valid body → use it and remember it. 404 → PeerJS cloud: the app is hosted without
 * its server, so the cloud is the only signaling there is (the views say so). Anything else (5xx
 * during a deploy, another non-2xx, no answer within CONFIG_TIMEOUT_MS, a body that is not JSON
 * or not a config, offline) → the remembered config; with none, this rejects with a
 * ConfigUnavailableError and the machine retries with its backoff. Never the cloud in that case:
 * the saved ID and its token would go to a third party without the user knowing. Never from URL
 * parameters either: whoever controls signaling can swap SDP fingerprints and sit in the middle
 * of the media.
 */
export const loadConfig = fromPromise<SignalingConfig, void>(async () => {
	const early = takeEarlyConfigRequest();
	const signal = AbortSignal.timeout(CONFIG_TIMEOUT_MS);
	// Also ends the wait for the early request, which was sent without this signal.
	const timedOut = new Promise<never>((_, reject) => {
		if (signal.aborted) reject(signal.reason);
		else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
	});
	timedOut.catch(() => {});
	const read = async (): Promise<SignalingConfig> => {
		const res = await (early ?? fetch('/signaling.json', { cache: 'no-store', signal }));
		if (res.status === 404) return cloudConfig;
		if (!res.ok) throw new ConfigUnavailableError('status', `HTTP ${res.status}`);
		const parsed = parseSignalingConfig(await res.json());
		if (!parsed) throw new ConfigUnavailableError('malformed', 'the answer is not a signaling config');
		const config: SignalingConfig = { ...parsed, cloud: false, source: 'server' };
		try {
			storage()?.setItem(CONFIG_KEY, JSON.stringify(config));
		} catch {
			/* storage full or blocked: used now, not remembered */
		}
		return config;
	};
	try {
		return await Promise.race([read(), timedOut]);
	} catch (err) {
		const remembered = rememberedConfig();
		if (remembered) return remembered;
		throw unavailable(err);
	}
});

/**
 * The request for `/signaling.json` that src/app.html's first script sent while the page was
 * still parsing (before any of the app's code had arrived), taken once: the first load uses
 * it, and every retry fetches anew.
 */
function takeEarlyConfigRequest(): Promise<Response> | null {
	if (typeof window === 'undefined') return null;
	const w = window as Window & { __camcallConfigRequest?: Promise<Response> };
	const early = w.__camcallConfigRequest ?? null;
	delete w.__camcallConfigRequest;
	return early;
}

export interface Identity {
	/** The saved (or pinned) ID; null asks the server for a new one. */
	id: string | null;
	token: string;
	/** True when another tab holds the saved ID: this tab gets a temporary one, not saved. */
	temporary: boolean;
}

export function newToken(): string {
	const bytes = new Uint8Array(12);
	crypto.getRandomValues(bytes);
	return Array.from(bytes, (b) => b.toString(36).padStart(2, '0')).join('').slice(0, 16);
}

function readIdentity(): { id: string; token: string } | null {
	try {
		const raw = storage()?.getItem(IDENTITY_KEY);
		const parsed = raw ? (JSON.parse(raw) as { id?: unknown; token?: unknown }) : null;
		if (parsed && typeof parsed.id === 'string' && typeof parsed.token === 'string') {
			return { id: parsed.id, token: parsed.token };
		}
	} catch {
		/* a corrupt entry is the same as none */
	}
	return null;
}

export function saveIdentity(identity: { id: string; token: string }): void {
	storage()?.setItem(IDENTITY_KEY, JSON.stringify(identity));
}

export function forgetIdentity(): void {
	storage()?.removeItem(IDENTITY_KEY);
}

let lockHeld: Promise<boolean> | null = null;

/** One tab holds the saved ID for its lifetime (Web Locks); others get a temporary one. */
function holdIdentityLock(): Promise<boolean> {
	if (lockHeld) return lockHeld;
	const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
	if (!locks) return (lockHeld = Promise.resolve(true));
	lockHeld = new Promise<boolean>((resolve) => {
		locks
			.request(LOCK_NAME, { ifAvailable: true }, (lock) => {
				resolve(lock !== null);
				// Holding the lock until the page goes away.
				return lock ? new Promise<void>(() => {}) : undefined;
			})
			.catch(() => resolve(true));
	});
	return lockHeld;
}

export const claimIdentity = fromPromise<Identity, { fresh: boolean; pinned: string | null }>(
	async ({ input }) => {
		const owner = await holdIdentityLock();
		if (!owner) return { id: null, token: newToken(), temporary: true };
		if (input.pinned) return { id: input.pinned, token: newToken(), temporary: false };
		const saved = input.fresh ? null : readIdentity();
		if (input.fresh) forgetIdentity();
		return saved ? { ...saved, temporary: false } : { id: null, token: newToken(), temporary: false };
	}
);

/** A control message carried as the metadata of a short DataConnection (PeerJS has no
 * decline/busy/cancel): the receiver reads it on `connection` and closes. */
export interface ControlMessage {
	type: 'decline' | 'busy' | 'cancel';
	callId: string;
	/** On a cancel: `timeout` when the caller's ring time ran out (the callee shows a missed
	 * call, not "they hung up"). */
	why?: 'timeout';
}

export function isControlMessage(value: unknown): value is ControlMessage {
	const v = value as ControlMessage | null;
	return (
		!!v &&
		typeof v === 'object' &&
		(v.type === 'decline' || v.type === 'busy' || v.type === 'cancel') &&
		typeof v.callId === 'string' &&
		(v.why === undefined || v.why === 'timeout')
	);
}

/**
 * Sends a control message and lets go of the connection once it has done its job. The sender
 * must not close before its offer (which carries the metadata) has left through the server,
 * so it closes a task after its local offer is set, or when the connection closes or fails,
 * or after a short grace at the latest.
 */
export function sendControl(peer: Peer | null, to: string, message: ControlMessage): void {
	if (!peer || peer.destroyed) return;
	let conn: DataConnection;
	try {
		conn = peer.connect(to, { metadata: { control: message }, serialization: 'json', reliable: true });
	} catch {
		return;
	}
	const done = () => {
		clearTimeout(timer);
		try {
			conn.close();
		} catch {
			/* already closed */
		}
	};
	const timer = setTimeout(done, 4000);
	conn.on('close', done);
	conn.on('error', done);
	// The receiver refuses control connections without answering, so the usual end is here:
	// PeerJS sends the offer right after setLocalDescription resolves, in the microtask that
	// follows 'have-local-offer'; a task later the offer has left and the pc can go.
	const pc = conn.peerConnection as RTCPeerConnection | null | undefined;
	pc?.addEventListener('signalingstatechange', () => {
		if (pc.signalingState === 'have-local-offer') setTimeout(done, 0);
	});
}

export type PeerCommand =
	| { type: 'peer.connect'; config: SignalingConfig; id: string | null; token: string }
	| { type: 'peer.reconnect' }
	| { type: 'peer.destroy' };

/**
 * Events the Peer actor sends back:
 * - `peer.created { peer }`: a new Peer object (calls are placed on it).
 * - `peer.opened { id }`: registered with the server under `id`.
 * - `peer.disconnected`: the socket to the server closed; calls keep flowing.
 * - `peer.error { errorType, message, peerId }`: a PeerJS error; `peerId` is set for
 *   peer-unavailable ("Could not connect to peer <id>"). `network` too when PeerJS itself
 *   failed to load.
 * - `peer.call { call }`: an incoming media call.
 * - `peer.control { from, message }`: an incoming control message (decline, busy, cancel).
 * - `peer.photo { from, conn, offer }`: a peer offers a photo (metadata `{ photo: offer }`);
 *   the connection stays open for the photo machine, which checks the offer (isPhotoOffer)
 *   and receives or refuses it. The check lives there, out of the first load.
 * - `peer.chat { from, conn, offer }`: a peer opens a chat (metadata `{ chat: { callId } }`);
 *   unchecked here: the chat machine takes it only from the connected call's peer, and any
 *   other is closed before PeerJS answers it.
 * - `peer.refusedMessage { from, kind, reason }`: a malformed message from the signaling server
 *   (an OFFER with a poisoned `serialization`, oversized metadata, no sdp, a garbage
 *   CANDIDATE…) was dropped before PeerJS saw it (peer-guard.ts); the Peer works on. `from` is
 *   the sender's ID when it had a valid one, `kind` the message type, `reason` the bad field.
 * - `peer.unguarded`: PeerJS's internals are not what peer-guard.ts expects, so messages reach
 *   it unchecked (a PeerJS upgrade; its unit test fails first).
 */
export type PeerActorEvent =
	| { type: 'peer.created'; peer: Peer }
	| { type: 'peer.opened'; id: string }
	| { type: 'peer.disconnected' }
	| { type: 'peer.error'; errorType: string; message: string; peerId: string | null }
	| { type: 'peer.call'; call: MediaConnection }
	| { type: 'peer.control'; from: string; message: ControlMessage }
	| { type: 'peer.photo'; from: string; conn: DataConnection; offer: PhotoOffer }
	| { type: 'peer.chat'; from: string; conn: DataConnection; offer: unknown }
	| ({ type: 'peer.refusedMessage' } & Refusal)
	| { type: 'peer.unguarded' };

type PeerModule = typeof import('./peerjs');
/** PeerJS stays out of the first load: fetched when signaling starts. */
const loadPeer = importOnce<PeerModule>(() => import('./peerjs'));

export const peerConnection = fromCallback<PeerCommand, void>(({ sendBack, receive }) => {
	let peer: Peer | null = null;
	let last: { config: SignalingConfig; id: string | null; token: string } | null = null;
	let generation = 0;
	const send = (e: PeerActorEvent) => sendBack(e);
	// Start fetching PeerJS now, while the config and identity load, not after them.
	void loadPeer().catch(() => {});

	const create = async (config: SignalingConfig, id: string | null, token: string) => {
		const mine = ++generation;
		peer?.destroy();
		peer = null;
		let peerjs: PeerModule;
		try {
			peerjs = await loadPeer();
		} catch (err) {
			if (mine !== generation) return;
			// PeerJS did not load. To the machine that is the server being unreachable: it retries
			// with the backoff, and the retry imports again (importOnce forgets the failure).
			send({
				type: 'peer.error',
				errorType: 'network',
				message: `PeerJS did not load: ${err instanceof Error ? err.message : String(err)}`,
				peerId: null
			});
			return;
		}
		if (mine !== generation) return;
		const options = config.cloud
			? { token, debug: 0 }
			: {
					host: config.host,
					port: config.port,
					path: config.path,
					secure: config.secure,
					key: config.key,
					token,
					debug: 0,
					config: {
						iceServers: config.iceServers ?? [],
						...(config.iceTransportPolicy ? { iceTransportPolicy: config.iceTransportPolicy } : {})
					}
				};
		const p = id ? new peerjs.Peer(id, options) : new peerjs.Peer(options);
		// At once, before the socket can deliver anything: PeerJS trusts what its server relays.
		if (!peerjs.guardPeer(p, (refusal) => send({ type: 'peer.refusedMessage', ...refusal }))) send({ type: 'peer.unguarded' });
		peer = p;
		p.on('open', (openId) => {
			last = { config, id: openId, token };
			send({ type: 'peer.opened', id: openId });
		});
		p.on('disconnected', () => send({ type: 'peer.disconnected' }));
		p.on('error', (err) => {
			const match = /Could not connect to peer (.+)$/.exec(err.message ?? '');
			send({
				type: 'peer.error',
				errorType: String(err.type ?? 'unknown'),
				message: err.message ?? String(err),
				peerId: match ? match[1] : null
			});
		});
		p.on('call', (call) => send({ type: 'peer.call', call }));
		p.on('connection', (conn) => {
			const metadata = conn.metadata as { control?: unknown; photo?: unknown; chat?: unknown } | undefined;
			const message = metadata?.control;
			if (metadata?.photo && typeof metadata.photo === 'object') {
				send({ type: 'peer.photo', from: conn.peer, conn, offer: metadata.photo as PhotoOffer });
			} else if (metadata?.chat) {
				send({ type: 'peer.chat', from: conn.peer, conn, offer: metadata.chat });
			} else if (isControlMessage(message)) {
				send({ type: 'peer.control', from: conn.peer, message });
				// The metadata is the whole message: closed here, synchronously, PeerJS never
				// answers it (closing on 'open' would hand the sender our ICE candidates first).
				// The sender lets go of its side after a short grace.
				conn.close();
			} else {
				conn.close();
			}
		});
		send({ type: 'peer.created', peer: p });
	};

	receive((command) => {
		switch (command.type) {
			case 'peer.connect':
				last = { config: command.config, id: command.id, token: command.token };
				void create(command.config, command.id, command.token);
				break;
			case 'peer.reconnect':
				// reconnect() only works on a Peer that was open and is now disconnected; a Peer
				// whose first connection never opened is destroyed by PeerJS: make a new one with
				// the same ID and token.
				// (A disconnected Peer's `id` is null; PeerJS keeps the last one for reconnect.
				// Destroying it instead would close every call.)
				if (peer && !peer.destroyed && peer.disconnected) peer.reconnect();
				else if (peer && peer.open) send({ type: 'peer.opened', id: peer.id });
				else if (last) void create(last.config, last.id, last.token);
				break;
			case 'peer.destroy':
				generation++;
				peer?.destroy();
				peer = null;
				break;
		}
	});

	return () => {
		generation++;
		peer?.destroy();
		peer = null;
	};
});

export type NetworkEvent =
	| { type: 'network.online' }
	| { type: 'network.offline' }
	| { type: 'network.foreground' }
	| { type: 'network.changed' };

/** `online`, coming back to the foreground and connection-type changes trigger a reconnect
 * check at once instead of waiting for the backoff. */
export const networkWatch = fromCallback<{ type: string }>(({ sendBack }) => {
	if (typeof window === 'undefined') return () => {};
	const online = () => sendBack({ type: 'network.online' } satisfies NetworkEvent);
	const offline = () => sendBack({ type: 'network.offline' } satisfies NetworkEvent);
	const visible = () => {
		if (document.visibilityState === 'visible') sendBack({ type: 'network.foreground' } satisfies NetworkEvent);
	};
	const changed = () => sendBack({ type: 'network.changed' } satisfies NetworkEvent);
	const connection = (navigator as Navigator & { connection?: EventTarget }).connection;
	window.addEventListener('online', online);
	window.addEventListener('offline', offline);
	document.addEventListener('visibilitychange', visible);
	connection?.addEventListener?.('change', changed);
	return () => {
		window.removeEventListener('online', online);
		window.removeEventListener('offline', offline);
		document.removeEventListener('visibilitychange', visible);
		connection?.removeEventListener?.('change', changed);
	};
});

/** Refuses an incoming call we will not answer (busy): tells its caller, then drops it. */
export function rejectCall(peer: Peer | null, call: MediaConnection, type: ControlMessage['type']): void {
	const callId = (call.metadata as { callId?: unknown } | undefined)?.callId;
	if (typeof callId === 'string') sendControl(peer, call.peer, { type, callId });
	try {
		call.close();
	} catch {
		/* never answered: nothing to close */
	}
}
