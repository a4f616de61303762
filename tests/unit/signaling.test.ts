/**
 * The signaling machine as the session holds it (a parent that records what it hears), with a
 * fake Peer actor that records the commands it was given, a fake localStorage that shows what
 * was saved, and a SimulatedClock. The last block runs the real Peer actor over a fake PeerJS
 * module whose chunk can fail to load.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
	createActor,
	fromCallback,
	fromPromise,
	setup as setupMachine,
	SimulatedClock,
	waitFor,
	type ActorRefFrom,
	type AnyEventObject
} from 'xstate';
import { backoffMs, signalingMachine } from '$machines/signaling.machine';
import { importOnce } from '$machines/actors/lazy';
import { signalingMessages } from '$machines/errors';
import {
	CONFIG_TIMEOUT_MS,
	ConfigUnavailableError,
	cloudConfig,
	loadConfig,
	parseSignalingConfig,
	type ConfigProblem,
	type Identity,
	type PeerCommand,
	type SignalingConfig
} from '$machines/actors/signaling';

/** A fake PeerJS module: `offline` makes its chunk fail to load. */
const peerjs = vi.hoisted(() => {
	class FakePeer {
		handlers = new Map<string, ((...args: unknown[]) => void)[]>();
		destroyed = false;
		disconnected = false;
		open = false;
		id: string | null;
		options: unknown;
		constructor(idOrOptions: unknown, options?: unknown) {
			this.id = typeof idOrOptions === 'string' ? idOrOptions : null;
			this.options = typeof idOrOptions === 'string' ? options : idOrOptions;
			state.made.push(this);
		}
		on(event: string, handler: (...args: unknown[]) => void) {
			this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
			return this;
		}
		emit(event: string, ...args: unknown[]) {
			this.handlers.get(event)?.forEach((h) => h(...args));
		}
		destroy() {
			this.destroyed = true;
		}
		reconnect() {}
	}
	const state = {
		offline: false,
		imports: 0,
		made: [] as FakePeer[],
		FakePeer,
		/** What the fake guard answers; the refusal callback each Peer was guarded with. */
		guardable: true,
		refuse: [] as ((refusal: { from: string | null; kind: string; reason: string }) => void)[],
		guardPeer(_peer: unknown, refused: (refusal: { from: string | null; kind: string; reason: string }) => void) {
			state.refuse.push(refused);
			return state.guardable;
		}
	};
	return state;
});
vi.mock('$machines/actors/peerjs', () => {
	peerjs.imports++;
	if (peerjs.offline) throw new Error('Failed to fetch dynamically imported module');
	return { Peer: peerjs.FakePeer, guardPeer: peerjs.guardPeer };
});

const config: SignalingConfig = { cloud: false, host: '127.0.0.1', port: 1, path: '/peerjs', secure: false, key: 'peerjs', iceServers: [], source: 'server' };
const savedKey = 'camcall.identity';

class FakeStorage {
	items = new Map<string, string>();
	getItem(key: string) {
		return this.items.get(key) ?? null;
	}
	setItem(key: string, value: string) {
		this.items.set(key, String(value));
	}
	removeItem(key: string) {
		this.items.delete(key);
	}
}

type Signaling = ActorRefFrom<typeof signalingMachine>;

/** Runs `machine` as the session's child; returns what the session heard. */
function asChild(machine: typeof signalingMachine, clock: SimulatedClock) {
	const heard: AnyEventObject[] = [];
	const parent = createActor(
		setupMachine({ actors: { signaling: machine } }).createMachine({
			invoke: { src: 'signaling', id: 'signaling' },
			on: { '*': { actions: ({ event }) => heard.push(event) } }
		}),
		{ clock }
	).start();
	return { parent, heard, actor: parent.getSnapshot().children.signaling as Signaling };
}

let storage: FakeStorage;
beforeEach(() => {
	storage = new FakeStorage();
	vi.stubGlobal('localStorage', storage);
	// No jitter: backoff waits are exactly 1, 2, 4, 8, 8 s.
	vi.spyOn(Math, 'random').mockReturnValue(0.5);
});
afterEach(() => {
	vi.unstubAllGlobals();
	vi.restoreAllMocks();
});

function setup(identity: Identity = { id: 'saved-id', token: 'tok', temporary: false }, load: () => Promise<SignalingConfig> = async () => config) {
	const clock = new SimulatedClock();
	const commands: PeerCommand[] = [];
	let emit: (e: { type: string; [k: string]: unknown }) => void = () => {};
	const claims: unknown[] = [];
	const loads = { count: 0 };
	const machine = signalingMachine.provide({
		actors: {
			loadConfig: fromPromise<SignalingConfig, void>(() => {
				loads.count++;
				return load();
			}),
			claimIdentity: fromPromise(async ({ input }) => {
				claims.push(input);
				return identity;
			}),
			peerConnection: fromCallback(({ sendBack, receive }) => {
				emit = sendBack;
				receive((c) => commands.push(c as PeerCommand));
				return () => {};
			}),
			networkWatch: fromCallback(() => () => {})
		}
	});
	const { actor, heard } = asChild(machine, clock);
	const settle = async () => {
		for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
	};
	const state = () => actor.getSnapshot().value;
	const ctx = () => actor.getSnapshot().context;
	return { actor, clock, commands, emit: (e: { type: string; [k: string]: unknown }) => emit(e), claims, settle, heard, state, ctx, loads };
}

const networkError = { type: 'peer.error', errorType: 'network', message: 'down', peerId: null };
const webrtcError = { type: 'peer.error', errorType: 'webrtc', message: 'Failed to set remote answer sdp: Called in wrong state: stable', peerId: null };

/** Brings a fresh signaling actor (from setup()) to `where`, as the Peer's events would. */
async function reach(
	where: string,
	{ actor, emit, settle }: { actor: { send(e: { type: 'network.online' }): void }; emit(e: { type: string; [k: string]: unknown }): void; settle(): Promise<unknown> }
) {
	await settle();
	if (where !== 'registering') emit({ type: 'peer.opened', id: 'saved-id' });
	if (where === 'disconnected' || where === 'reconnecting') emit({ type: 'peer.disconnected' });
	if (where === 'reconnecting') actor.send({ type: 'network.online' });
}

describe('signaling machine', () => {
	test('config → identity → registering with the saved ID and token → open, and the ID is saved with its token', async () => {
		const { actor, commands, emit, claims, settle, state, ctx } = setup();
		expect(state()).toEqual({ connecting: 'config' });
		await settle();
		expect(state()).toEqual({ connecting: 'registering' });
		// The saved ID is asked for, not forgotten.
		expect(claims).toEqual([{ fresh: false, pinned: null }]);
		expect(commands).toEqual([{ type: 'peer.connect', config, id: 'saved-id', token: 'tok' }]);
		expect(ctx().config).toEqual(config);
		emit({ type: 'peer.opened', id: 'saved-id' });
		expect(state()).toBe('open');
		expect(ctx()).toMatchObject({ id: 'saved-id', failure: null, attempt: 0 });
		expect(JSON.parse(storage.getItem(savedKey)!)).toEqual({ id: 'saved-id', token: 'tok' });
		expect(actor.getSnapshot().status).toBe('active');
	});

	test('a new ID from the server is saved with our token; a temporary one (another tab holds ours) is not', async () => {
		const first = setup({ id: null, token: 'tok2', temporary: false });
		await first.settle();
		expect(first.commands).toEqual([{ type: 'peer.connect', config, id: null, token: 'tok2' }]);
		first.emit({ type: 'peer.opened', id: 'brave-otter-12' });
		expect(first.ctx().identity).toEqual({ id: 'brave-otter-12', token: 'tok2', temporary: false });
		expect(JSON.parse(storage.getItem(savedKey)!)).toEqual({ id: 'brave-otter-12', token: 'tok2' });

		storage.items.clear();
		const second = setup({ id: null, token: 'tmp', temporary: true });
		await second.settle();
		second.emit({ type: 'peer.opened', id: 'quiet-fox-3' });
		expect(second.ctx().id).toBe('quiet-fox-3');
		expect(storage.items.size).toBe(0);
	});

	test('what the Peer receives is handed to the session', async () => {
		const { emit, settle, heard } = setup();
		await settle();
		const peer = { fake: 'peer' };
		const call = { fake: 'call' };
		const conn = { fake: 'conn' };
		const offer = { id: 'p1', name: 'photo.jpg', size: 1, type: 'image/jpeg' };
		emit({ type: 'peer.created', peer });
		emit({ type: 'peer.call', call });
		emit({ type: 'peer.control', from: 'far', message: { type: 'decline', callId: 'c1' } });
		emit({ type: 'peer.photo', from: 'far', conn, offer });
		expect(heard).toEqual([
			{ type: 'signaling.peer', peer },
			{ type: 'signaling.incomingCall', call },
			{ type: 'signaling.control', from: 'far', message: { type: 'decline', callId: 'c1' } },
			{ type: 'signaling.photo', from: 'far', conn, offer }
		]);
		expect(heard[0].peer).toBe(peer);
	});

	test('server down at start: backoff 1 s, 2 s, 4 s, 8 s, capped at 8 s; registers when it returns', async () => {
		const { clock, commands, emit, settle, state, ctx } = setup();
		await settle();
		const waits: number[] = [];
		for (let attempt = 1; attempt <= 5; attempt++) {
			emit(networkError);
			expect(state()).toEqual({ disconnected: 'peer' });
			expect(ctx()).toMatchObject({ attempt, failure: { reason: 'network', message: signalingMessages.network } });
			const before = commands.length;
			let waited = 0;
			while (JSON.stringify(state()) === '{"disconnected":"peer"}' && waited < 20_000) {
				clock.increment(250);
				waited += 250;
			}
			waits.push(waited);
			expect(state()).toBe('reconnecting');
			expect(commands.slice(before)).toEqual([{ type: 'peer.reconnect' }]);
		}
		expect(waits).toEqual([1000, 2000, 4000, 8000, 8000]);
		emit({ type: 'peer.opened', id: 'saved-id' });
		expect(state()).toBe('open');
		expect(ctx()).toMatchObject({ attempt: 0, failure: null });
	});

	test('backoff: 1 s doubling to 8 s, ±25 % jitter, never above 8 s', () => {
		expect([0, 1, 2, 3, 4, 9].map((a) => backoffMs(a, 0.5))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
		expect(backoffMs(0, 0)).toBe(750);
		expect(backoffMs(0, 1)).toBe(1250);
		expect(backoffMs(2, 0)).toBe(3000);
		expect(backoffMs(-1, 0.5)).toBe(1000);
		expect(backoffMs(3, 1)).toBe(8000);
		for (const r of [0, 0.25, 0.5, 0.99]) {
			for (let a = 0; a < 8; a++) {
				const base = Math.min(1000 * 2 ** a, 8000);
				expect(backoffMs(a, r)).toBeGreaterThanOrEqual(base * 0.75);
				expect(backoffMs(a, r)).toBeLessThanOrEqual(Math.min(8000, base * 1.25));
			}
		}
	});

	test('dropped while open → disconnected; `online`, foreground and a network change each retry at once', async () => {
		const { actor, commands, emit, settle, state, ctx } = setup();
		await settle();
		emit({ type: 'peer.opened', id: 'saved-id' });
		for (const trigger of ['network.online', 'network.foreground', 'network.changed'] as const) {
			emit({ type: 'peer.disconnected' });
			expect(state()).toEqual({ disconnected: 'peer' });
			expect(ctx().failure).toEqual({ reason: 'disconnected', message: signalingMessages.disconnected });
			actor.send({ type: trigger });
			expect(state()).toBe('reconnecting');
			expect(commands.at(-1)).toEqual({ type: 'peer.reconnect' });
			emit({ type: 'peer.opened', id: 'saved-id' });
			expect(state()).toBe('open');
		}
		expect(commands.filter((c) => c.type === 'peer.reconnect')).toHaveLength(3);
		expect(ctx().id).toBe('saved-id');
	});

	test('while disconnected another network error changes nothing (the backoff is running); the peer may come back by itself', async () => {
		const { emit, settle, state, ctx, heard, commands } = setup();
		await settle();
		emit({ type: 'peer.opened', id: 'saved-id' });
		emit({ type: 'peer.disconnected' });
		const before = { ...ctx() };
		emit(networkError);
		expect(state()).toEqual({ disconnected: 'peer' });
		expect(ctx()).toEqual(before);
		expect(heard).toEqual([]);
		expect(commands).toHaveLength(1);
		emit({ type: 'peer.opened', id: 'saved-id' });
		expect(state()).toBe('open');
	});

	test('an error while open (server gone) → disconnected with its reason', async () => {
		const { emit, settle, state, ctx } = setup();
		await settle();
		emit({ type: 'peer.opened', id: 'saved-id' });
		emit({ type: 'peer.error', errorType: 'socket-closed', message: 'closed', peerId: null });
		expect(state()).toEqual({ disconnected: 'peer' });
		expect(ctx().failure?.reason).toBe('socket-closed');
	});

	test('a reconnect that hangs times out into the next backoff step; one that drops counts too', async () => {
		const { actor, clock, emit, settle, state, ctx } = setup();
		await settle();
		emit({ type: 'peer.opened', id: 'saved-id' });
		emit({ type: 'peer.disconnected' });
		actor.send({ type: 'network.foreground' });
		clock.increment(5999);
		expect(state()).toBe('reconnecting');
		clock.increment(1);
		expect(state()).toEqual({ disconnected: 'peer' });
		expect(ctx().attempt).toBe(1);
		actor.send({ type: 'network.online' });
		emit({ type: 'peer.disconnected' });
		expect(state()).toEqual({ disconnected: 'peer' });
		expect(ctx().attempt).toBe(2);
		actor.send({ type: 'network.online' });
		emit({ type: 'peer.error', errorType: 'server-error', message: 'x', peerId: null });
		expect(state()).toEqual({ disconnected: 'peer' });
		expect(ctx()).toMatchObject({ attempt: 3, failure: { reason: 'server-error' } });
	});

	test('registering that hears nothing for registerTimeout (10 s) → disconnected, then retried with the backoff', async () => {
		const { clock, commands, settle, state, ctx } = setup();
		await settle();
		clock.increment(9999);
		expect(state()).toEqual({ connecting: 'registering' });
		clock.increment(1);
		expect(state()).toEqual({ disconnected: 'peer' });
		expect(ctx()).toMatchObject({ attempt: 1, failure: { reason: 'network', message: signalingMessages.network } });
		clock.increment(1000);
		expect(state()).toBe('reconnecting');
		expect(commands.at(-1)).toEqual({ type: 'peer.reconnect' });
	});

	test.each([
		['unavailable-id', 'registering'],
		['invalid-key', 'open'],
		['ssl-unavailable', 'disconnected'],
		['invalid-id', 'reconnecting']
	])('%s in %s → failed with its message, no more retries', async (errorType, where) => {
		const { actor, clock, commands, emit, settle, state, ctx } = setup();
		await settle();
		if (where !== 'registering') emit({ type: 'peer.opened', id: 'saved-id' });
		if (where === 'disconnected' || where === 'reconnecting') emit({ type: 'peer.disconnected' });
		if (where === 'reconnecting') actor.send({ type: 'network.online' });
		expect(JSON.stringify(state())).toContain(where);
		emit({ type: 'peer.error', errorType, message: 'no', peerId: null });
		expect(state()).toBe('failed');
		expect(ctx().failure).toEqual({ reason: errorType, message: signalingMessages[errorType as keyof typeof signalingMessages] });
		const sent = commands.length;
		clock.increment(60_000);
		expect(state()).toBe('failed');
		expect(commands).toHaveLength(sent);
	});

	test('unavailable-id → a fresh ID is claimed on request and registered', async () => {
		const { actor, emit, claims, commands, settle, state, ctx } = setup();
		await settle();
		emit({ type: 'peer.error', errorType: 'unavailable-id', message: 'ID "saved-id" is taken', peerId: null });
		expect(state()).toBe('failed');
		actor.send({ type: 'signaling.freshId' });
		expect(ctx()).toMatchObject({ failure: null, fresh: true, attempt: 0, id: null });
		await settle();
		expect(claims.at(-1)).toEqual({ fresh: true, pinned: null });
		expect(commands.at(-1)?.type).toBe('peer.connect');
		expect(state()).toEqual({ connecting: 'registering' });
	});

	test('retry from failed registers again with the same identity', async () => {
		const { actor, emit, commands, settle, state, ctx } = setup();
		await settle();
		emit({ type: 'peer.error', errorType: 'invalid-key', message: 'no', peerId: null });
		expect(state()).toBe('failed');
		actor.send({ type: 'signaling.retry' });
		expect(state()).toEqual({ connecting: 'registering' });
		expect(ctx()).toMatchObject({ failure: null, attempt: 0 });
		expect(commands).toEqual([
			{ type: 'peer.connect', config, id: 'saved-id', token: 'tok' },
			{ type: 'peer.connect', config, id: 'saved-id', token: 'tok' }
		]);
	});

	test('a pinned ID is claimed and registered', async () => {
		const { actor, emit, claims, commands, settle, ctx } = setup();
		await settle();
		emit({ type: 'peer.opened', id: 'saved-id' });
		actor.send({ type: 'signaling.useId', id: 'my-name' });
		expect(ctx()).toMatchObject({ pinned: 'my-name', id: null });
		await settle();
		expect(claims.at(-1)).toEqual({ fresh: false, pinned: 'my-name' });
		expect(commands.at(-1)?.type).toBe('peer.connect');
	});

	test.each(['registering', 'open', 'disconnected', 'reconnecting'])(
		'peer-unavailable in %s does not disturb signaling; it is routed to the call',
		async (where) => {
			const { actor, emit, settle, state, heard, ctx } = setup();
			await reach(where, { actor, emit, settle });
			const before = JSON.stringify(state());
			const failure = ctx().failure;
			emit({ type: 'peer.error', errorType: 'peer-unavailable', message: 'Could not connect to peer x', peerId: 'x' });
			expect(JSON.stringify(state())).toBe(before);
			expect(ctx().failure).toEqual(failure);
			expect(heard).toEqual([{ type: 'signaling.peerUnavailable', peerId: 'x' }]);
		}
	);

	test.each(['registering', 'open', 'disconnected', 'reconnecting'])(
		'a negotiation failure PeerJS reports on the Peer (webrtc) in %s is reported to the session; signaling is unaffected',
		async (where) => {
			const { actor, emit, settle, state, heard, ctx } = setup();
			await reach(where, { actor, emit, settle });
			const before = JSON.stringify(state());
			const { failure, attempt } = ctx();
			emit(webrtcError);
			expect(JSON.stringify(state())).toBe(before);
			expect(ctx()).toMatchObject({ failure, attempt });
			expect(heard).toEqual([{ type: 'signaling.webrtcError', message: webrtcError.message }]);
		}
	);
});

describe('signaling machine without a usable config', () => {
	/** loadConfig as it behaves with no usable /signaling.json and nothing remembered, until
	 * `serverBack` is set. */
	function noConfig() {
		const server = { back: false };
		const t = setup(undefined, async () => {
			if (server.back) return config;
			throw new ConfigUnavailableError('status', 'HTTP 503');
		});
		return { ...t, server };
	}

	test('→ disconnected.noConfig with a message; nothing is registered anywhere (no cloud), no ID is claimed', async () => {
		const { settle, state, ctx, commands, claims } = noConfig();
		await settle();
		expect(state()).toEqual({ disconnected: 'noConfig' });
		expect(ctx().failure).toEqual({
			reason: 'config-unavailable',
			message: `${signalingMessages['config-unavailable']} (/signaling.json: HTTP 503)`
		});
		expect(ctx()).toMatchObject({ config: null, attempt: 1 });
		expect(commands).toEqual([]);
		expect(claims).toEqual([]);
	});

	test('fetches the config again with the backoff (1, 2, 4, 8, 8 s), then registers with what the server gave', async () => {
		const { clock, settle, state, ctx, commands, loads, server } = noConfig();
		await settle();
		const waits: number[] = [];
		for (let attempt = 1; attempt <= 5; attempt++) {
			expect(loads.count).toBe(attempt);
			let waited = 0;
			while (loads.count === attempt && waited < 20_000) {
				clock.increment(250);
				waited += 250;
			}
			waits.push(waited);
			await settle();
			expect(state()).toEqual({ disconnected: 'noConfig' });
			expect(commands).toEqual([]);
		}
		expect(waits).toEqual([1000, 2000, 4000, 8000, 8000]);
		server.back = true;
		clock.increment(8000);
		await settle();
		expect(state()).toEqual({ connecting: 'registering' });
		expect(commands).toEqual([{ type: 'peer.connect', config, id: 'saved-id', token: 'tok' }]);
		expect(ctx().config).toEqual(config);
	});

	test.each(['network.online', 'network.foreground', 'network.changed'] as const)('%s fetches the config at once', async (trigger) => {
		const { actor, settle, state, loads, server, commands } = noConfig();
		await settle();
		expect(loads.count).toBe(1);
		server.back = true;
		actor.send({ type: trigger });
		await settle();
		expect(loads.count).toBe(2);
		expect(state()).toEqual({ connecting: 'registering' });
		expect(commands.map((c) => c.type)).toEqual(['peer.connect']);
	});

	test('a fresh or pinned ID asked for meanwhile fetches the config first, and never registers without one', async () => {
		const { actor, settle, state, loads, claims, commands, server } = noConfig();
		await settle();
		actor.send({ type: 'signaling.freshId' });
		await settle();
		expect(loads.count).toBe(2);
		expect(state()).toEqual({ disconnected: 'noConfig' });
		actor.send({ type: 'signaling.useId', id: 'my-name' });
		await settle();
		expect(commands).toEqual([]);
		expect(claims).toEqual([]);
		server.back = true;
		actor.send({ type: 'signaling.useId', id: 'my-name' });
		await settle();
		expect(claims).toEqual([{ fresh: true, pinned: 'my-name' }]);
		expect(commands).toEqual([{ type: 'peer.connect', config, id: 'saved-id', token: 'tok' }]);
	});
});

describe('signaling actors', () => {
	function fakeFetch(answer: (signal: AbortSignal | undefined) => Promise<unknown>) {
		const requests: { url: string; init: RequestInit }[] = [];
		vi.stubGlobal('fetch', (url: string, init: RequestInit) => {
			requests.push({ url, init });
			return answer(init.signal ?? undefined);
		});
		return requests;
	}
	/** AbortSignal.timeout, but fired by hand: returns the signal's controller. */
	function manualTimeout() {
		const controller = new AbortController();
		const spy = vi.spyOn(AbortSignal, 'timeout').mockImplementation(() => controller.signal);
		return { spy, fire: () => controller.abort(new DOMException('The operation timed out.', 'TimeoutError')) };
	}
	/** A server that accepts the request and never answers: only an abort ends it. */
	const hang = (signal: AbortSignal | undefined) =>
		new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
	const run = () => {
		const actor = createActor(loadConfig);
		// A rejection is an outcome here, not an unhandled error.
		actor.subscribe({ error: () => {} });
		return actor.start();
	};

	const remembered = { host: 'peers.example.org', port: 443, path: '/peerjs', secure: true, key: 'peerjs', iceServers: [{ urls: 'stun:s.example.org' }] };
	const served = {
		host: '127.0.0.1',
		port: 8080,
		path: '/peerjs',
		secure: false,
		key: 'peerjs',
		iceServers: [{ urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }]
	};
	const remember = () => storage.setItem('camcall.signaling', JSON.stringify({ ...remembered, cloud: false, source: 'server' }));
	/** Runs loadConfig to its end: the config it gave, or the error it rejected with. */
	async function outcome(): Promise<{ config?: SignalingConfig; error?: ConfigUnavailableError }> {
		// waitFor rejects with the actor's error when it fails.
		try {
			return { config: (await waitFor(run(), (x) => x.status === 'done', { timeout: 1000 })).output };
		} catch (error) {
			return { error: error as ConfigUnavailableError };
		}
	}
	const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

	test('200 with a config → used and remembered; a later failure gets it back as remembered', async () => {
		const requests = fakeFetch(async () => json({ ...served, extra: 'dropped', cloud: true, source: 'cloud' }));
		const { config: got } = await outcome();
		// Rebuilt from the known fields only: the body cannot say it is the cloud.
		expect(got).toEqual({ ...served, cloud: false, source: 'server' });
		expect(requests.map((r) => [r.url, r.init.cache])).toEqual([['/signaling.json', 'no-store']]);
		fakeFetch(async () => new Response('busy', { status: 503 }));
		expect((await outcome()).config).toEqual({ ...served, cloud: false, source: 'remembered' });
	});

	test('404 (hosted without its server) → the public cloud, remembered config or not', async () => {
		fakeFetch(async () => new Response('Not found', { status: 404 }));
		expect((await outcome()).config).toEqual(cloudConfig);
		remember();
		expect((await outcome()).config).toEqual(cloudConfig);
	});

	const failures: [string, ConfigProblem, (signal: AbortSignal | undefined) => Promise<unknown>][] = [
		['503', 'status', async () => new Response('<h1>deploying</h1>', { status: 503 })],
		['500', 'status', async () => json({ error: 'x' }, 500)],
		['403', 'status', async () => json(served, 403)],
		['429', 'status', async () => new Response('', { status: 429 })],
		['204 (no body)', 'bad-json', async () => new Response(null, { status: 204 })],
		['bad JSON', 'bad-json', async () => new Response('<!doctype html><title>Captive portal</title>', { status: 200 })],
		['network error', 'network', async () => Promise.reject(new TypeError('Failed to fetch'))],
		['no answer', 'timeout', hang],
		[
			'headers but a body that never ends',
			'timeout',
			async (signal) =>
				new Response(new ReadableStream({ start: (c) => signal?.addEventListener('abort', () => c.error(signal.reason)) }), { status: 200 })
		]
	];

	test.each(failures)('%s, nothing remembered → rejects (%s): no cloud', async (_name, problem, answer) => {
		const { fire } = manualTimeout();
		fakeFetch(answer);
		const running = outcome();
		// Time runs out only after whatever the server answered has been read.
		await new Promise((resolve) => setTimeout(resolve, 0));
		fire();
		const { config: got, error } = await running;
		expect(got).toBeUndefined();
		expect(error).toBeInstanceOf(ConfigUnavailableError);
		expect(error!.problem).toBe(problem);
		if (problem === 'status') expect(error!.detail).toMatch(/^HTTP \d{3}$/);
	});

	test.each(failures)('%s with a remembered config → the remembered config', async (_name, _problem, answer) => {
		remember();
		const { fire } = manualTimeout();
		fakeFetch(answer);
		const running = outcome();
		// Time runs out only after whatever the server answered has been read.
		await new Promise((resolve) => setTimeout(resolve, 0));
		fire();
		expect((await running).config).toEqual({ ...remembered, cloud: false, source: 'remembered' });
	});

	test('the request src/app.html sent while the page parsed is used once; the next load fetches anew', async () => {
		const requests = fakeFetch(async () => json({ ...served, port: 9999 }));
		const page: { __camcallConfigRequest?: Promise<Response> } = { __camcallConfigRequest: Promise.resolve(json(served)) };
		vi.stubGlobal('window', page);
		expect((await outcome()).config).toEqual({ ...served, cloud: false, source: 'server' });
		expect(requests).toHaveLength(0);
		expect(page.__camcallConfigRequest).toBeUndefined();
		expect(JSON.parse(storage.getItem('camcall.signaling')!)).toMatchObject({ port: 8080 });
		expect((await outcome()).config).toMatchObject({ port: 9999, source: 'server' });
		expect(requests).toHaveLength(1);
	});

	test('an early request that failed gives the remembered config; one that never answers times out', async () => {
		remember();
		vi.stubGlobal('window', { __camcallConfigRequest: Promise.reject(new TypeError('Failed to fetch')) });
		expect((await outcome()).config).toEqual({ ...remembered, cloud: false, source: 'remembered' });

		storage.items.clear();
		const { fire } = manualTimeout();
		const requests = fakeFetch(hang);
		vi.stubGlobal('window', { __camcallConfigRequest: new Promise<Response>(() => {}) });
		const running = outcome();
		await new Promise((resolve) => setTimeout(resolve, 0));
		fire();
		expect((await running).error?.problem).toBe('timeout');
		expect(requests).toHaveLength(0);
	});

	test('waits CONFIG_TIMEOUT_MS (5 s) for an answer', async () => {
		const { spy } = manualTimeout();
		const requests = fakeFetch(hang);
		run();
		expect(requests).toHaveLength(1);
		expect(spy).toHaveBeenCalledWith(CONFIG_TIMEOUT_MS);
		expect(CONFIG_TIMEOUT_MS).toBe(5000);
	});

	// Hostile or broken bodies: each is treated like a 5xx.
	const malformed: [string, unknown][] = [
		['null', null],
		['an array', [served]],
		['a string', 'config'],
		['an empty object', {}],
		['no host', { ...served, host: undefined }],
		['a host with a path', { ...served, host: 'evil.example/x?' }],
		['a host with a port', { ...served, host: 'a.example:99' }],
		['a huge host', { ...served, host: 'a'.repeat(300) }],
		['a port as a string', { ...served, port: '8080' }],
		['port 0', { ...served, port: 0 }],
		['port 70000', { ...served, port: 70000 }],
		['a fractional port', { ...served, port: 80.5 }],
		['a relative path', { ...served, path: 'peerjs' }],
		['a path with a query', { ...served, path: '/peerjs?token=x' }],
		['secure as a string', { ...served, secure: 'true' }],
		['no key', { ...served, key: undefined }],
		['a key with spaces', { ...served, key: 'a b' }],
		['iceServers not an array', { ...served, iceServers: { urls: 'stun:x' } }],
		['an ICE server without urls', { ...served, iceServers: [{}] }],
		['an ICE server with empty urls', { ...served, iceServers: [{ urls: [] }] }],
		['an ICE server of another scheme', { ...served, iceServers: [{ urls: 'https://x' }] }],
		['an ICE server that is a string', { ...served, iceServers: ['stun:x'] }],
		['a numeric credential', { ...served, iceServers: [{ urls: 'turn:x', username: 'u', credential: 5 }] }],
		['a thousand ICE servers', { ...served, iceServers: Array.from({ length: 1000 }, () => ({ urls: 'stun:x' })) }],
		['an unknown transport policy', { ...served, iceTransportPolicy: 'none' }]
	];

	test.each(malformed)('a body with %s → rejected as malformed, or the remembered config', async (_name, body) => {
		fakeFetch(async () => json(body));
		const { error } = await outcome();
		expect(error?.problem).toBe('malformed');
		remember();
		expect((await outcome()).config).toEqual({ ...remembered, cloud: false, source: 'remembered' });
		// The bad body was not remembered in its place.
		expect(JSON.parse(storage.getItem('camcall.signaling')!)).toMatchObject(remembered);
	});

	test('`__proto__` in the body changes nothing', async () => {
		fakeFetch(async () => new Response(`{"__proto__":{"cloud":true},${JSON.stringify(served).slice(1)}`, { status: 200 }));
		const { config: got } = await outcome();
		expect(got).toEqual({ ...served, cloud: false, source: 'server' });
		expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
	});

	test('a remembered config that is corrupt or malformed counts as none', async () => {
		fakeFetch(async () => new Response('', { status: 503 }));
		storage.setItem('camcall.signaling', '{not json');
		expect((await outcome()).error?.problem).toBe('status');
		storage.setItem('camcall.signaling', JSON.stringify({ ...remembered, port: 'x', cloud: false, source: 'server' }));
		expect((await outcome()).error?.problem).toBe('status');
		expect(parseSignalingConfig(remembered)).toEqual(remembered);
	});

	test('importOnce: a failed import is forgotten (the next call imports again); a good one is kept', async () => {
		let calls = 0;
		let fail = true;
		const load = importOnce(async () => {
			calls++;
			if (fail) throw new Error('Failed to fetch dynamically imported module');
			return 'module';
		});
		await expect(load()).rejects.toThrow(/Failed to fetch/);
		fail = false;
		await expect(load()).resolves.toBe('module');
		await expect(load()).resolves.toBe('module');
		expect(calls).toBe(2);
	});
});

describe('signaling with the real Peer actor', () => {
	test('a PeerJS chunk that fails to load is retried with the backoff, imported again, and registers', async () => {
		peerjs.offline = true;
		fakeFetchConfig();
		const clock = new SimulatedClock();
		const { parent, actor, heard } = asChild(signalingMachine, clock);
		await waitFor(actor, (s) => s.matches('disconnected'), { timeout: 1000 });
		expect(actor.getSnapshot().context.failure?.reason).toBe('network');
		expect(peerjs.made).toHaveLength(0);
		const importsWhileOffline = peerjs.imports;
		expect(importsWhileOffline).toBeGreaterThanOrEqual(1);

		peerjs.offline = false;
		clock.increment(1000);
		expect(actor.getSnapshot().value).toBe('reconnecting');
		await waitFor(actor, () => peerjs.made.length === 1, { timeout: 1000 });
		expect(peerjs.imports).toBe(importsWhileOffline + 1);
		const peer = peerjs.made[0];
		expect(peer.options).toMatchObject({ host: '127.0.0.1', path: '/peerjs', debug: 0 });
		expect(heard.filter((e) => e.type === 'signaling.peer').map((e) => e.peer)).toEqual([peer]);
		peer.open = true;
		peer.emit('open', 'brave-otter-12');
		expect(actor.getSnapshot().value).toBe('open');
		expect(actor.getSnapshot().context.id).toBe('brave-otter-12');

		// A negotiation failure reported on the Peer reaches the session.
		peer.emit('error', Object.assign(new Error('Failed to set remote offer sdp'), { type: 'webrtc' }));
		expect(heard.at(-1)).toEqual({ type: 'signaling.webrtcError', message: 'Failed to set remote offer sdp' });
		expect(actor.getSnapshot().value).toBe('open');
		parent.stop();
		expect(peer.destroyed).toBe(true);
	});
});

describe('every Peer is guarded as it is made', () => {
	test('the Peer actor guards each new Peer at once; refusals are counted, the state stays; an unguardable PeerJS is flagged', async () => {
		peerjs.made.length = 0;
		peerjs.refuse.length = 0;
		peerjs.guardable = true;
		fakeFetchConfig();
		const first = asChild(signalingMachine, new SimulatedClock());
		await waitFor(first.actor, () => peerjs.made.length === 1, { timeout: 1000 });
		// Guarded before the actor returned it to anyone: one guard per Peer.
		expect(peerjs.refuse).toHaveLength(1);
		const peer = peerjs.made[0];
		peer.open = true;
		peer.emit('open', 'brave-otter-12');
		const heardBefore = first.heard.length;
		peerjs.refuse[0]({ from: 'stranger-1', kind: 'OFFER', reason: 'serialization' });
		peerjs.refuse[0]({ from: null, kind: 'CANDIDATE', reason: 'src' });
		const snapshot = first.actor.getSnapshot();
		expect(snapshot.context).toMatchObject({ refused: 2, guarded: true });
		expect(snapshot.value).toBe('open');
		// Kept to signaling (the inspector logs it): the session hears nothing of it.
		expect(first.heard).toHaveLength(heardBefore);
		first.parent.stop();

		peerjs.guardable = false;
		const second = asChild(signalingMachine, new SimulatedClock());
		await waitFor(second.actor, (s) => !s.context.guarded, { timeout: 1000 });
		expect(peerjs.made).toHaveLength(2);
		expect(second.actor.getSnapshot().context.refused).toBe(0);
		second.parent.stop();
		peerjs.guardable = true;
	});
});

describe('a 503 from /signaling.json with the real Peer actor', () => {
	test('nothing remembered: no Peer is made at all (the cloud is never tried), until the server answers', async () => {
		peerjs.offline = false;
		peerjs.made = [];
		let status = 503;
		vi.stubGlobal('fetch', async () =>
			status === 200
				? new Response(JSON.stringify({ host: '127.0.0.1', port: 1, path: '/peerjs', key: 'peerjs', secure: false, iceServers: [] }), { status })
				: new Response('', { status })
		);
		const clock = new SimulatedClock();
		const { parent, actor } = asChild(signalingMachine, clock);
		await waitFor(actor, (s) => s.matches({ disconnected: 'noConfig' }), { timeout: 1000 });
		clock.increment(1000);
		await waitFor(actor, (s) => s.matches({ disconnected: 'noConfig' }) && s.context.attempt === 2, { timeout: 1000 });
		expect(peerjs.made).toEqual([]);
		status = 200;
		clock.increment(2000);
		await waitFor(actor, () => peerjs.made.length === 1, { timeout: 1000 });
		expect(peerjs.made[0].options).toMatchObject({ host: '127.0.0.1', port: 1, path: '/peerjs' });
		parent.stop();
	});

	test('a remembered config: the Peer is made for that server, with the saved ID and token', async () => {
		peerjs.offline = false;
		peerjs.made = [];
		storage.setItem(
			'camcall.signaling',
			JSON.stringify({ host: 'peers.example.org', port: 443, path: '/peerjs', secure: true, key: 'peerjs', iceServers: [], cloud: false, source: 'server' })
		);
		storage.setItem('camcall.identity', JSON.stringify({ id: 'brave-otter-12', token: 'saved-token' }));
		vi.stubGlobal('fetch', async () => new Response('', { status: 503 }));
		const { parent, actor } = asChild(signalingMachine, new SimulatedClock());
		await waitFor(actor, () => peerjs.made.length === 1, { timeout: 1000 });
		expect(actor.getSnapshot().context.config?.source).toBe('remembered');
		const peer = peerjs.made[0];
		expect(peer.id).toBe('brave-otter-12');
		expect(peer.options).toMatchObject({ host: 'peers.example.org', port: 443, secure: true, token: 'saved-token' });
		parent.stop();
	});
});

function fakeFetchConfig() {
	vi.stubGlobal('fetch', async () => ({ ok: true, status: 200, json: async () => ({ host: '127.0.0.1', port: 1, path: '/peerjs', key: 'peerjs', secure: false, iceServers: [] }) }));
}

describe('control messages as they arrive in an offer’s metadata', () => {
	test('decline, busy and cancel with a callId; a cancel may say the ring time ran out; nothing else', async () => {
		const { isControlMessage } = await import('$machines/actors/signaling');
		expect(isControlMessage({ type: 'cancel', callId: 'c1' })).toBe(true);
		expect(isControlMessage({ type: 'cancel', callId: 'c1', why: 'timeout' })).toBe(true);
		expect(isControlMessage({ type: 'decline', callId: 'c1' })).toBe(true);
		expect(isControlMessage({ type: 'busy', callId: 'c1' })).toBe(true);
		expect(isControlMessage({ type: 'cancel', callId: 'c1', why: 'anything' })).toBe(false);
		expect(isControlMessage({ type: 'cancel', callId: 1 })).toBe(false);
		expect(isControlMessage({ type: 'hangup', callId: 'c1' })).toBe(false);
		expect(isControlMessage(null)).toBe(false);
		expect(isControlMessage('cancel')).toBe(false);
	});
});
