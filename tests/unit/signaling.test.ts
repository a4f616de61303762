import { describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, fromPromise, SimulatedClock } from 'xstate';
import { backoffMs, signalingMachine } from '$machines/signaling.machine';
import type { Identity, PeerCommand, SignalingConfig } from '$machines/actors/signaling';
import { allStatePaths, replayShortestPaths } from './fakes';

const config: SignalingConfig = { cloud: false, host: '127.0.0.1', port: 1, path: '/peerjs', secure: false, key: 'peerjs', iceServers: [], source: 'server' };

function setup(identity: Identity = { id: 'saved-id', token: 'tok', temporary: false }) {
	const clock = new SimulatedClock();
	const commands: PeerCommand[] = [];
	let emit: (e: { type: string; [k: string]: unknown }) => void = () => {};
	const rememberIdentity = vi.fn();
	const reportPeerUnavailable = vi.fn();
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
		},
		actions: {
			rememberIdentity,
			reportPeer: () => {},
			reportIncomingCall: () => {},
			reportControl: () => {},
			reportPeerUnavailable
		},
		// Deterministic backoff for the test: no jitter.
		delays: { reconnectDelay: ({ context }) => backoffMs(context.attempt - 1, 0.5) }
	});
	const actor = createActor(machine, { clock }).start();
	const settle = () => new Promise((r) => setTimeout(r, 0));
	return { actor, clock, commands, emit: (e: { type: string; [k: string]: unknown }) => emit(e), rememberIdentity, reportPeerUnavailable, claims, settle };
}

describe('signaling machine', () => {
	test('config → identity → registering with the saved ID and token → open', async () => {
		const { actor, commands, emit, rememberIdentity, settle } = setup();
		expect(actor.getSnapshot().value).toEqual({ connecting: 'config' });
		await settle();
		await settle();
		expect(actor.getSnapshot().value).toEqual({ connecting: 'registering' });
		expect(commands).toEqual([{ type: 'peer.connect', config, id: 'saved-id', token: 'tok' }]);
		emit({ type: 'peer.opened', id: 'saved-id' });
		expect(actor.getSnapshot().value).toBe('open');
		expect(actor.getSnapshot().context.id).toBe('saved-id');
		expect(rememberIdentity).toHaveBeenCalled();
	});

	test('server down at start: backoff 1 s, 2 s, 4 s, 8 s, capped at 8 s; registers when it returns', async () => {
		const { actor, clock, commands, emit, settle } = setup();
		await settle();
		await settle();
		const waits: number[] = [];
		for (let attempt = 0; attempt < 5; attempt++) {
			emit({ type: 'peer.error', errorType: 'network', message: 'down', peerId: null });
			expect(actor.getSnapshot().value).toBe('disconnected');
			expect(actor.getSnapshot().context.failure?.reason).toBe('network');
			const wait = backoffMs(actor.getSnapshot().context.attempt - 1, 0.5);
			waits.push(wait);
			clock.increment(wait - 1);
			expect(actor.getSnapshot().value).toBe('disconnected');
			clock.increment(1);
			expect(actor.getSnapshot().value).toBe('reconnecting');
		}
		expect(waits).toEqual([1000, 2000, 4000, 8000, 8000]);
		expect(commands.filter((c) => c.type === 'peer.reconnect')).toHaveLength(5);
		emit({ type: 'peer.opened', id: 'saved-id' });
		expect(actor.getSnapshot().value).toBe('open');
		expect(actor.getSnapshot().context.attempt).toBe(0);
	});

	test('backoff jitter stays within ±25 % and never above 8 s', () => {
		for (const r of [0, 0.25, 0.5, 0.99]) {
			for (let a = 0; a < 8; a++) {
				const base = Math.min(1000 * 2 ** a, 8000);
				const ms = backoffMs(a, r);
				expect(ms).toBeGreaterThanOrEqual(base * 0.75);
				expect(ms).toBeLessThanOrEqual(8000);
			}
		}
	});

	test('dropped while open → disconnected; `online` retries at once instead of waiting', async () => {
		const { actor, commands, emit, settle } = setup();
		await settle();
		await settle();
		emit({ type: 'peer.opened', id: 'saved-id' });
		emit({ type: 'peer.disconnected' });
		expect(actor.getSnapshot().value).toBe('disconnected');
		actor.send({ type: 'network.online' });
		expect(actor.getSnapshot().value).toBe('reconnecting');
		expect(commands.at(-1)).toEqual({ type: 'peer.reconnect' });
		emit({ type: 'peer.opened', id: 'saved-id' });
		expect(actor.getSnapshot().value).toBe('open');
		expect(actor.getSnapshot().context.id).toBe('saved-id');
	});

	test('a reconnect that hangs times out into the next backoff step', async () => {
		const { actor, clock, emit, settle } = setup();
		await settle();
		await settle();
		emit({ type: 'peer.opened', id: 'saved-id' });
		emit({ type: 'peer.disconnected' });
		actor.send({ type: 'network.foreground' });
		clock.increment(6000);
		expect(actor.getSnapshot().value).toBe('disconnected');
		expect(actor.getSnapshot().context.attempt).toBe(1);
	});

	test('unavailable-id → failed with a message; a fresh ID is claimed on request', async () => {
		const { actor, emit, claims, commands, settle } = setup();
		await settle();
		await settle();
		emit({ type: 'peer.error', errorType: 'unavailable-id', message: 'ID "saved-id" is taken', peerId: null });
		expect(actor.getSnapshot().value).toBe('failed');
		expect(actor.getSnapshot().context.failure?.reason).toBe('unavailable-id');
		actor.send({ type: 'signaling.freshId' });
		await settle();
		expect(claims.at(-1)).toEqual({ fresh: true, pinned: null });
		expect(commands.at(-1)?.type).toBe('peer.connect');
	});

	test('peer-unavailable does not disturb signaling; it is routed to the call', async () => {
		const { actor, emit, reportPeerUnavailable, settle } = setup();
		await settle();
		await settle();
		emit({ type: 'peer.opened', id: 'saved-id' });
		emit({ type: 'peer.error', errorType: 'peer-unavailable', message: 'Could not connect to peer x', peerId: 'x' });
		expect(actor.getSnapshot().value).toBe('open');
		expect(reportPeerUnavailable).toHaveBeenCalledTimes(1);
	});

	test('a pinned ID is claimed and registered', async () => {
		const { actor, claims, settle } = setup();
		await settle();
		await settle();
		actor.send({ type: 'signaling.useId', id: 'my-name' });
		await settle();
		expect(claims.at(-1)).toEqual({ fresh: false, pinned: 'my-name' });
	});

	test('model-based: shortest paths replay and reach every state', () => {
		const machine = signalingMachine.provide({
			actors: {
				loadConfig: fromPromise(() => new Promise<SignalingConfig>(() => {})),
				claimIdentity: fromPromise(() => new Promise<Identity>(() => {})),
				peerConnection: fromCallback(() => () => {}),
				networkWatch: fromCallback(() => () => {})
			},
			actions: { rememberIdentity: () => {}, reportPeer: () => {}, reportIncomingCall: () => {}, reportControl: () => {}, reportPeerUnavailable: () => {} }
		});
		const { reached, mismatches } = replayShortestPaths(machine, [
			{ type: 'xstate.done.actor.loadConfig', output: config },
			{ type: 'xstate.done.actor.claimIdentity', output: { id: 'a', token: 't', temporary: false } },
			{ type: 'peer.opened', id: 'a' },
			{ type: 'peer.disconnected' },
			{ type: 'peer.error', errorType: 'network', message: '', peerId: null },
			{ type: 'peer.error', errorType: 'unavailable-id', message: '', peerId: null },
			{ type: 'network.online' },
			{ type: 'signaling.retry' },
			{ type: 'signaling.freshId' }
		] as never[]);
		expect(mismatches).toEqual([]);
		expect([...reached].sort()).toEqual(allStatePaths(signalingMachine).sort());
	});
});
