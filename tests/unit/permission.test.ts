import { describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback } from 'xstate';
import { permissionMachine } from '$machines/permission.machine';
import { allStatePaths, replayShortestPaths } from './fakes';

function setup() {
	let emit: (e: { type: string; state?: string }) => void = () => {};
	const reportGranted = vi.fn();
	const machine = permissionMachine.provide({
		actors: {
			permissionStatus: fromCallback(({ sendBack }) => {
				emit = sendBack;
				return () => {};
			})
		},
		actions: { reportGranted }
	});
	const actor = createActor(machine).start();
	return { actor, emit: (e: { type: string; state?: string }) => emit(e), reportGranted };
}

describe('permission machine', () => {
	test('starts in checking; the Permissions API value picks the state', () => {
		const { actor, emit } = setup();
		expect(actor.getSnapshot().value).toBe('checking');
		emit({ type: 'permission.changed', state: 'prompt' });
		expect(actor.getSnapshot().value).toBe('prompt');
		expect(actor.getSnapshot().context.queryable).toBe(true);
	});

	test('granted at load tells the session (the camera may open without a tap)', () => {
		const { actor, emit, reportGranted } = setup();
		emit({ type: 'permission.changed', state: 'granted' });
		expect(actor.getSnapshot().value).toBe('granted');
		expect(reportGranted).toHaveBeenCalledTimes(1);
	});

	test('change events follow the browser: granted → denied (revoked) → granted', () => {
		const { actor, emit } = setup();
		emit({ type: 'permission.changed', state: 'granted' });
		emit({ type: 'permission.changed', state: 'denied' });
		expect(actor.getSnapshot().value).toBe('denied');
		emit({ type: 'permission.changed', state: 'granted' });
		expect(actor.getSnapshot().value).toBe('granted');
	});

	test('without camera in the Permissions API: prompt, then getUserMedia outcomes decide', () => {
		const { actor, emit } = setup();
		emit({ type: 'permission.unknown' });
		expect(actor.getSnapshot().value).toBe('prompt');
		expect(actor.getSnapshot().context.queryable).toBe(false);
		actor.send({ type: 'permission.observed', state: 'denied' });
		expect(actor.getSnapshot().value).toBe('denied');
		actor.send({ type: 'permission.observed', state: 'granted' });
		expect(actor.getSnapshot().value).toBe('granted');
	});

	test('every camera start says granted again: reported once, not once per start', () => {
		const { actor, emit, reportGranted } = setup();
		emit({ type: 'permission.changed', state: 'granted' });
		actor.send({ type: 'permission.observed', state: 'granted' });
		actor.send({ type: 'permission.observed', state: 'granted' });
		expect(actor.getSnapshot().value).toBe('granted');
		expect(reportGranted).toHaveBeenCalledTimes(1);
		// A refusal still counts while granted (revoked behind the Permissions API's back).
		actor.send({ type: 'permission.observed', state: 'denied' });
		expect(actor.getSnapshot().value).toBe('denied');
	});

	test('no camera API at all → unsupported', () => {
		const { actor, emit } = setup();
		emit({ type: 'permission.unsupported' });
		expect(actor.getSnapshot().value).toBe('unsupported');
	});

	test('model-based: shortest paths replay and reach every state', () => {
		const machine = permissionMachine.provide({
			actors: { permissionStatus: fromCallback(() => () => {}) },
			actions: { reportGranted: () => {} }
		});
		const { reached, mismatches } = replayShortestPaths(machine, [
			{ type: 'permission.changed', state: 'granted' },
			{ type: 'permission.changed', state: 'denied' },
			{ type: 'permission.changed', state: 'prompt' },
			{ type: 'permission.unknown' },
			{ type: 'permission.unsupported' },
			{ type: 'permission.observed', state: 'granted' },
			{ type: 'permission.observed', state: 'denied' }
		]);
		expect(mismatches).toEqual([]);
		expect([...reached].sort()).toEqual(allStatePaths(permissionMachine).sort());
	});
});
