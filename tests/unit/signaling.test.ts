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
import { signalingMessages } from '$machines/errors';
import {
	CONFIG_TIMEOUT_MS,
	cloudConfig,
	importOnce,
	loadConfig,
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

function setup(identity: Identity = { id: 'saved-id', token: 'tok', temporary: false }) {
	const clock = new SimulatedClock();
	const commands: PeerCommand[] = [];
	let emit: (e: { type: string; [k: string]: unknown }) => void = () => {};
	const claims: unknown[] = [];
	const machine = signalingMachine.provide({
		actors: {
			loadConfig: fromPromise(async () => config),
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
	return { actor, clock, commands, emit: (e: { type: string; [k: string]: unknown }) => emit(e), claims, settle, heard, state, ctx };
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
			expect(state()).toBe('disconnected');
			expect(ctx()).toMatchObject({ attempt, failure: { reason: 'network', message: signalingMessages.network } });
			const before = commands.length;
			let waited = 0;
			while (state() === 'disconnected' && waited < 20_000) {
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
			expect(state()).toBe('disconnected');
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
		expect(state()).toBe('disconnected');
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
		expect(state()).toBe('disconnected');
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
		expect(state()).toBe('disconnected');
		expect(ctx().attempt).toBe(1);
		actor.send({ type: 'network.online' });
		emit({ type: 'peer.disconnected' });
		expect(state()).toBe('disconnected');
		expect(ctx().attempt).toBe(2);
		actor.send({ type: 'network.online' });
		emit({ type: 'peer.error', errorType: 'server-error', message: 'x', peerId: null });
		expect(state()).toBe('disconnected');
		expect(ctx()).toMatchObject({ attempt: 3, failure: { reason: 'server-error' } });
	});

	test('registering that hears nothing for registerTimeout (10 s) → disconnected, then retried with the backoff', async () => {
		const { clock, commands, settle, state, ctx } = setup();
		await settle();
		clock.increment(9999);
		expect(state()).toEqual({ connecting: 'registering' });
		clock.increment(1);
		expect(state()).toBe('disconnected');
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
	const run = () => createActor(loadConfig).start();

	test('/signaling.json that never answers: after CONFIG_TIMEOUT_MS the remembered config', async () => {
		storage.setItem('camcall.signaling', JSON.stringify(config));
		const { spy, fire } = manualTimeout();
		const requests = fakeFetch(hang);
		const actor = run();
		expect(requests.map((r) => r.url)).toEqual(['/signaling.json']);
		expect(spy).toHaveBeenCalledWith(CONFIG_TIMEOUT_MS);
		expect(CONFIG_TIMEOUT_MS).toBe(5000);
		fire();
		const done = await waitFor(actor, (s) => s.status === 'done', { timeout: 1000 });
		expect(done.output).toEqual({ ...config, source: 'remembered' });
	});

	test('/signaling.json that never answers and nothing remembered: the cloud defaults', async () => {
		const { fire } = manualTimeout();
		fakeFetch(hang);
		const actor = run();
		fire();
		const done = await waitFor(actor, (s) => s.status === 'done', { timeout: 1000 });
		expect(done.output).toEqual(cloudConfig);
	});

	test('200 → used and remembered; 404 → cloud; offline → remembered', async () => {
		fakeFetch(async () => ({ ok: true, json: async () => ({ host: 'h', port: 1, path: '/peerjs' }) }));
		const served = await waitFor(run(), (s) => s.status === 'done');
		expect(served.output).toEqual({ host: 'h', port: 1, path: '/peerjs', cloud: false, source: 'server' });
		fakeFetch(async () => ({ ok: false, status: 404 }));
		expect((await waitFor(run(), (s) => s.status === 'done')).output).toEqual(cloudConfig);
		fakeFetch(async () => {
			throw new TypeError('Failed to fetch');
		});
		expect((await waitFor(run(), (s) => s.status === 'done')).output).toEqual({ host: 'h', port: 1, path: '/peerjs', cloud: false, source: 'remembered' });
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

function fakeFetchConfig() {
	vi.stubGlobal('fetch', async () => ({ ok: true, json: async () => ({ host: '127.0.0.1', port: 1, path: '/peerjs', key: 'peerjs', secure: false }) }));
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
