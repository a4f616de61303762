import { describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, SimulatedClock } from 'xstate';
import { iceMachine } from '$machines/ice.machine';
import type { PcStateEvent, PcStatsEvent } from '$machines/actors/ice';
import { allStatePaths, replayShortestPaths } from './fakes';

const pc = {} as RTCPeerConnection;

function state(ice: RTCIceConnectionState): PcStateEvent {
	return { type: 'pc.state', ice, gathering: 'complete', connection: ice === 'checking' ? 'connecting' : 'connected' };
}
function stats(bytesReceived: number): PcStatsEvent {
	return { type: 'pc.stats', bytesReceived, framesDecoded: bytesReceived / 100, fps: 30, rttMs: 2, route: 'host' };
}

function setup() {
	const clock = new SimulatedClock();
	const reports = {
		reportConnected: vi.fn(),
		reportDisconnected: vi.fn(),
		reportFailed: vi.fn(),
		reportStalled: vi.fn(),
		reportResumed: vi.fn()
	};
	const machine = iceMachine.provide({
		actors: { watchIce: fromCallback(() => () => {}), pollStats: fromCallback(() => () => {}) },
		actions: reports
	});
	const actor = createActor(machine, { input: { pc }, clock }).start();
	return { actor, clock, reports };
}

describe('ice machine', () => {
	test('mirrors iceConnectionState and reports connected once', () => {
		const { actor, reports } = setup();
		expect(actor.getSnapshot().value).toBe('new');
		actor.send(state('checking'));
		expect(actor.getSnapshot().value).toBe('checking');
		actor.send(state('connected'));
		expect(actor.getSnapshot().matches('connected')).toBe(true);
		// A gathering/connectionState change with the same ICE state does not re-enter.
		actor.send({ ...state('connected'), gathering: 'gathering' });
		expect(reports.reportConnected).toHaveBeenCalledTimes(1);
		expect(actor.getSnapshot().context.gathering).toBe('gathering');
	});

	test('stats fill the route, RTT and fps', () => {
		const { actor } = setup();
		actor.send(stats(500));
		expect(actor.getSnapshot().context).toMatchObject({ route: 'host', rttMs: 2, fps: 30, bytesReceived: 500 });
	});

	test('watchdog: no new inbound bytes for mediaStallGrace → stalled; bytes again → resumed', () => {
		const { actor, clock, reports } = setup();
		actor.send(state('connected'));
		for (let i = 1; i <= 5; i++) {
			clock.increment(1000);
			actor.send(stats(i * 1000));
		}
		expect(actor.getSnapshot().matches({ connected: 'flowing' })).toBe(true);
		// Same byte count: muted media still sends, so only a real stall looks like this.
		clock.increment(1000);
		actor.send(stats(5000));
		clock.increment(1999);
		expect(actor.getSnapshot().matches({ connected: 'flowing' })).toBe(true);
		clock.increment(1);
		expect(actor.getSnapshot().matches({ connected: 'stalled' })).toBe(true);
		expect(reports.reportStalled).toHaveBeenCalledTimes(1);
		actor.send(stats(6000));
		expect(actor.getSnapshot().matches({ connected: 'flowing' })).toBe(true);
		expect(reports.reportResumed).toHaveBeenCalledTimes(1);
	});

	test('disconnected and failed are reported to the call', () => {
		const { actor, reports } = setup();
		actor.send(state('connected'));
		actor.send(state('disconnected'));
		expect(actor.getSnapshot().value).toBe('disconnected');
		expect(reports.reportDisconnected).toHaveBeenCalledTimes(1);
		actor.send(state('failed'));
		expect(reports.reportFailed).toHaveBeenCalledTimes(1);
	});

	test('model-based: shortest paths replay and reach every state', () => {
		const machine = iceMachine.provide({
			actors: { watchIce: fromCallback(() => () => {}), pollStats: fromCallback(() => () => {}) },
			actions: { reportConnected: () => {}, reportDisconnected: () => {}, reportFailed: () => {}, reportStalled: () => {}, reportResumed: () => {} }
		});
		const events = [
			...(['new', 'checking', 'connected', 'completed', 'disconnected', 'failed', 'closed'] as const).map(state),
			{ type: 'xstate.after.mediaStallGrace.ice.connected.flowing' },
			{ type: 'xstate.after.mediaStallGrace.ice.completed.flowing' },
			stats(1)
		];
		const { reached, mismatches } = replayShortestPaths(machine, events as never[], { pc });
		expect(mismatches).toEqual([]);
		expect([...reached].sort()).toEqual(allStatePaths(iceMachine).sort());
	});
});
