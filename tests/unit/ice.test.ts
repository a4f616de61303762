import { describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, setup as xsetup, SimulatedClock } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { iceMachine } from '$machines/ice.machine';
import { watchIce, type PcStateEvent, type PcStatsEvent } from '$machines/actors/ice';

function state(ice: RTCIceConnectionState, gathering: RTCIceGatheringState = 'complete'): PcStateEvent {
	return { type: 'pc.state', ice, gathering, connection: ice === 'checking' ? 'connecting' : 'connected' };
}
function stats(bytesReceived: number): PcStatsEvent {
	return { type: 'pc.stats', bytesReceived, framesDecoded: bytesReceived / 100, fps: 30, rttMs: 2, route: 'host' };
}

function reporters() {
	return {
		reportConnected: vi.fn(),
		reportDisconnected: vi.fn(),
		reportFailed: vi.fn(),
		reportStalled: vi.fn(),
		reportResumed: vi.fn(),
		reportCandidateError: vi.fn()
	};
}

function setup(pc = { signalingState: 'stable' } as RTCPeerConnection) {
	const clock = new SimulatedClock();
	const reports = reporters();
	const machine = iceMachine.provide({
		actors: { watchIce: fromCallback(() => () => {}), pollStats: fromCallback(() => () => {}) },
		actions: reports
	});
	const actor = createActor(machine, { input: { pc }, clock }).start();
	const connection = () => {
		const v = (actor.getSnapshot().value as { connection: unknown }).connection;
		return typeof v === 'string' ? v : JSON.stringify(v);
	};
	const gathering = () => (actor.getSnapshot().value as { gathering: string }).gathering;
	return { actor, clock, reports, connection, gathering, pc };
}

describe('ice machine', () => {
	test('mirrors iceConnectionState and reports connected once', () => {
		const { actor, reports, connection } = setup();
		expect(connection()).toBe('new');
		actor.send(state('checking'));
		expect(connection()).toBe('checking');
		actor.send(state('connected'));
		expect(connection()).toBe('{"connected":"flowing"}');
		// A gathering/connectionState change with the same ICE state does not re-enter.
		actor.send(state('connected', 'gathering'));
		expect(reports.reportConnected).toHaveBeenCalledTimes(1);
	});

	test('gathering is its own region: new → gathering → complete, whatever the connection does', () => {
		const { actor, gathering, connection } = setup();
		expect(gathering()).toBe('new');
		actor.send(state('new', 'gathering'));
		expect(gathering()).toBe('gathering');
		expect(connection()).toBe('new');
		actor.send(state('checking', 'gathering'));
		actor.send(state('checking', 'complete'));
		expect(gathering()).toBe('complete');
		expect(connection()).toBe('checking');
	});

	test('trickle ICE: local and remote candidates are counted; a failed addIceCandidate is reported', () => {
		const { actor, reports } = setup();
		actor.send({ type: 'pc.localCandidate', candidateType: 'host' });
		actor.send({ type: 'pc.localCandidate', candidateType: 'srflx' });
		actor.send({ type: 'pc.remoteCandidate', candidateType: 'host' });
		expect(actor.getSnapshot().context).toMatchObject({ localCandidates: 2, remoteCandidates: 1 });
		actor.send({ type: 'pc.candidateError', message: 'bad candidate' });
		expect(reports.reportCandidateError).toHaveBeenCalledTimes(1);
	});

	test('stats fill the route, RTT and fps', () => {
		const { actor } = setup();
		actor.send(stats(500));
		expect(actor.getSnapshot().context).toMatchObject({ route: 'host', rttMs: 2, fps: 30, bytesReceived: 500 });
	});

	test('watchdog: no new inbound bytes and no heartbeat for mediaStallGrace → stalled; bytes again → resumed', () => {
		const { actor, clock, reports, connection } = setup();
		actor.send(state('connected'));
		for (let i = 1; i <= 5; i++) {
			clock.increment(1000);
			actor.send(stats(i * 1000));
		}
		expect(connection()).toBe('{"connected":"flowing"}');
		// Same byte count: muted media still sends, so only a real stall looks like this.
		clock.increment(1000);
		actor.send(stats(5000));
		clock.increment(1999);
		expect(connection()).toBe('{"connected":"flowing"}');
		clock.increment(1);
		expect(connection()).toBe('{"connected":"stalled"}');
		expect(reports.reportStalled).toHaveBeenCalledTimes(1);
		actor.send(stats(6000));
		expect(connection()).toBe('{"connected":"flowing"}');
		expect(reports.reportResumed).toHaveBeenCalledTimes(1);
	});

	test('a far side that sends no media but its heartbeat never stalls; when the heartbeat stops too, it does', () => {
		const { actor, clock, reports, connection } = setup();
		actor.send(state('completed'));
		for (let i = 0; i < 10; i++) {
			clock.increment(1000);
			actor.send(stats(0));
			actor.send({ type: 'ice.peerAlive' });
		}
		expect(connection()).toBe('{"completed":"flowing"}');
		expect(reports.reportStalled).not.toHaveBeenCalled();
		clock.increment(3000);
		expect(reports.reportStalled).toHaveBeenCalledTimes(1);
		actor.send({ type: 'ice.peerAlive' });
		expect(reports.reportResumed).toHaveBeenCalledTimes(1);
		expect(connection()).toBe('{"completed":"flowing"}');
	});

	test('disconnected and failed are reported to the call', () => {
		const { actor, reports, connection } = setup();
		actor.send(state('connected'));
		actor.send(state('disconnected'));
		expect(connection()).toBe('disconnected');
		expect(reports.reportDisconnected).toHaveBeenCalledTimes(1);
		actor.send(state('failed'));
		expect(reports.reportFailed).toHaveBeenCalledTimes(1);
	});

	test('closed is entered when the call has closed the pc, and not before', () => {
		const pc = { signalingState: 'stable' } as { signalingState: RTCSignalingState };
		const { actor, connection } = setup(pc as RTCPeerConnection);
		actor.send(state('connected'));
		actor.send({ type: 'ice.close' });
		expect(connection()).toBe('{"connected":"flowing"}');
		pc.signalingState = 'closed';
		actor.send({ type: 'ice.close' });
		expect(connection()).toBe('closed');
	});

	test('model-based: on every shortest path, what was reported matches the state reached', () => {
		const events = [
			...(['new', 'checking', 'connected', 'completed', 'disconnected', 'failed'] as const).map((s) => state(s)),
			state('checking', 'gathering'),
			{ type: 'xstate.after.mediaStallGrace.ice.connection.connected.flowing' },
			{ type: 'xstate.after.mediaStallGrace.ice.connection.completed.flowing' },
			{ type: 'ice.peerAlive' },
			{ type: 'ice.close' },
			stats(1)
		];
		const pc = { signalingState: 'closed' } as RTCPeerConnection;
		const plain = iceMachine.provide({
			actors: { watchIce: fromCallback(() => () => {}), pollStats: fromCallback(() => () => {}) },
			actions: { ...reporters() }
		});
		const paths = getShortestPaths(plain, { events: events as never, input: { pc } as never });
		const visited = new Set<string>();
		for (const p of paths) {
			const reports = reporters();
			const actor = createActor(iceMachine.provide({ actors: { watchIce: fromCallback(() => () => {}), pollStats: fromCallback(() => () => {}) }, actions: reports }), { input: { pc } }).start();
			for (const step of p.steps) {
				if ((step.event.type as string) !== 'xstate.init') actor.send(step.event);
				const value = actor.getSnapshot().value as { connection: unknown };
				const c = typeof value.connection === 'string' ? value.connection : JSON.stringify(value.connection);
				visited.add(c);
				// The call hears exactly what the state means, never more than once per entry.
				if (c.includes('stalled')) expect(reports.reportStalled.mock.calls.length, c).toBeGreaterThan(reports.reportResumed.mock.calls.length);
				if (c.startsWith('{"connected"') || c.startsWith('{"completed"')) expect(reports.reportConnected, c).toHaveBeenCalled();
				if (c === 'new' || c === 'checking') expect(reports.reportConnected, c).not.toHaveBeenCalled();
				if (c === 'disconnected') expect(reports.reportDisconnected, c).toHaveBeenCalled();
				if (c === 'failed') expect(reports.reportFailed, c).toHaveBeenCalled();
			}
			actor.stop();
		}
		for (const s of ['new', 'checking', '{"connected":"flowing"}', '{"connected":"stalled"}', '{"completed":"stalled"}', 'disconnected', 'failed', 'closed']) {
			expect(visited, s).toContain(s);
		}
	});
});

describe('watchIce (the actor)', () => {
	test('reports local candidates from icecandidate and remote ones through addIceCandidate, and undoes its hook', async () => {
		const listeners = new Map<string, (e: unknown) => void>();
		const added: unknown[] = [];
		class FakePc {
			iceConnectionState = 'new';
			iceGatheringState = 'gathering';
			connectionState = 'new';
			addEventListener(type: string, fn: (e: unknown) => void) {
				listeners.set(type, fn);
			}
			removeEventListener(type: string) {
				listeners.delete(type);
			}
			addIceCandidate(c: unknown) {
				added.push(c);
				return (c as { candidate: string }).candidate.includes('bad') ? Promise.reject(new Error('bad')) : Promise.resolve();
			}
		}
		const pc = new FakePc() as unknown as RTCPeerConnection;
		const events: { type: string; candidateType?: string }[] = [];
		// A parent that invokes the real actor collects what it sends back.
		const host = createActor(
			xsetup({ actors: { watchIce } }).createMachine({
				invoke: { src: 'watchIce', input: { pc } },
				on: { '*': { actions: ({ event }) => events.push(event as never) } }
			})
		).start();
		listeners.get('icecandidate')!({ candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 5000 typ host' } });
		await pc.addIceCandidate({ candidate: 'candidate:2 1 udp 1 1.2.3.4 5000 typ srflx', sdpMid: '0' });
		await pc.addIceCandidate({ candidate: 'candidate:bad typ host' }).catch(() => {});
		expect(events.filter((e) => e.type !== 'pc.state')).toEqual([
			{ type: 'pc.localCandidate', candidateType: 'host' },
			{ type: 'pc.remoteCandidate', candidateType: 'srflx' },
			{ type: 'pc.candidateError', message: 'bad' }
		]);
		expect(added).toHaveLength(2);
		host.stop();
		expect(Object.prototype.hasOwnProperty.call(pc, 'addIceCandidate')).toBe(false);
		expect(listeners.size).toBe(0);
	});
});

describe('ice machine inside its call (the real report actions and actors)', () => {
	/** A parent that invokes the real ICE machine, with the pc's events under the test's control. */
	function inCall() {
		const received: { type: string; message?: string }[] = [];
		const listeners = new Map<string, () => void>();
		const pc = {
			iceConnectionState: 'new',
			iceGatheringState: 'new',
			connectionState: 'new',
			signalingState: 'stable',
			addEventListener: (type: string, fn: () => void) => listeners.set(type, fn),
			removeEventListener: (type: string) => listeners.delete(type),
			addIceCandidate: async () => {},
			getStats: async () => new Map()
		} as unknown as Omit<RTCPeerConnection, 'iceConnectionState' | 'iceGatheringState'> & { iceConnectionState: string; iceGatheringState: string };
		const clock = new SimulatedClock();
		const parent = createActor(
			xsetup({ actors: { ice: iceMachine } }).createMachine({
				invoke: { src: 'ice', id: 'ice', input: { pc: pc as unknown as RTCPeerConnection } },
				on: { '*': { actions: ({ event }) => received.push(event as never) } }
			}),
			{ clock }
		).start();
		const ice = parent.getSnapshot().children.ice!;
		const fire = (ice: string, gathering = 'complete') => {
			pc.iceConnectionState = ice;
			pc.iceGatheringState = gathering;
			listeners.get('iceconnectionstatechange')!();
		};
		return { received, ice, fire, clock, listeners, parent };
	}

	test('the call hears connected, stalled, resumed, disconnected, failed and candidate errors, each once', () => {
		const { received, ice, fire, clock } = inCall();
		expect(ice.getSnapshot().context).toMatchObject({ ice: 'new', gathering: 'new', connection: 'new', localCandidates: 0 });
		fire('checking', 'gathering');
		expect(ice.getSnapshot().context).toMatchObject({ ice: 'checking', gathering: 'gathering' });
		fire('connected');
		clock.increment(3000);
		ice.send({ type: 'ice.peerAlive' });
		fire('disconnected');
		fire('failed');
		ice.send({ type: 'pc.candidateError', message: 'bad candidate' });
		expect(received.map((e) => e.type)).toEqual(['ice.connected', 'ice.stalled', 'ice.resumed', 'ice.disconnected', 'ice.failed', 'ice.candidateError']);
		expect(received.at(-1)?.message).toBe('bad candidate');
	});

	test('its actors watch the pc from the start and let go when it stops', () => {
		const { listeners, parent } = inCall();
		expect([...listeners.keys()].sort()).toEqual(['connectionstatechange', 'icecandidate', 'iceconnectionstatechange', 'icegatheringstatechange']);
		parent.stop();
		expect(listeners.size).toBe(0);
	});
});
