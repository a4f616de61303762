/**
 * The permission machine as the session holds it: a parent records what it is told. Most tests
 * drive the real permissionStatus actor through a fake `navigator.permissions`; the model-based
 * walk checks every short sequence of browser and session events against the rules as written
 * in DESIGN.md (not against the machine's own graph).
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, setup, waitFor, type ActorRefFrom, type AnyEventObject } from 'xstate';
import { permissionMachine } from '$machines/permission.machine';
import type { PermissionValue } from '$machines/actors/media';

type Permission = ActorRefFrom<typeof permissionMachine>;

function asChild(machine: typeof permissionMachine) {
	const heard: AnyEventObject[] = [];
	const parent = createActor(
		setup({ actors: { permission: machine } }).createMachine({
			invoke: { src: 'permission', id: 'permission' },
			on: { '*': { actions: ({ event }) => heard.push(event) } }
		})
	).start();
	return { parent, heard, actor: parent.getSnapshot().children.permission as Permission };
}

/** The Permissions API's camera status, whose value the test changes. */
class FakeStatus extends EventTarget {
	constructor(public state: PermissionValue) {
		super();
	}
	set(state: PermissionValue) {
		this.state = state;
		this.dispatchEvent(new Event('change'));
	}
}

/** A browser whose Permissions API reports `camera` (or not, with `status` null). */
function browser(status: FakeStatus | null) {
	const queries: unknown[] = [];
	vi.stubGlobal('navigator', {
		mediaDevices: { getUserMedia: async () => ({}) },
		permissions: {
			query: async (descriptor: unknown) => {
				queries.push(descriptor);
				if (!status) throw new TypeError("'camera' is not a valid value for enumeration PermissionName");
				return status;
			}
		}
	});
	return queries;
}

afterEach(() => {
	vi.unstubAllGlobals();
});

const settled = (actor: Permission) => waitFor(actor, (s) => !s.matches('checking'), { timeout: 1000 });

describe('permission machine with the real Permissions API actor', () => {
	test('prompt at load: nothing told, and the camera waits for a tap', async () => {
		const queries = browser(new FakeStatus('prompt'));
		const { actor, heard } = asChild(permissionMachine);
		expect(actor.getSnapshot().value).toBe('checking');
		await settled(actor);
		expect(queries).toEqual([{ name: 'camera' }]);
		expect(actor.getSnapshot().value).toBe('prompt');
		expect(actor.getSnapshot().context.queryable).toBe(true);
		expect(heard).toEqual([]);
	});

	test('granted at load tells the session once, so the camera opens without a tap', async () => {
		browser(new FakeStatus('granted'));
		const { actor, heard } = asChild(permissionMachine);
		await settled(actor);
		expect(actor.getSnapshot().value).toBe('granted');
		expect(actor.getSnapshot().context.queryable).toBe(true);
		expect(heard).toEqual([{ type: 'permission.granted' }]);
	});

	test('denied at load is known without any tap', async () => {
		browser(new FakeStatus('denied'));
		const { actor, heard } = asChild(permissionMachine);
		await settled(actor);
		expect(actor.getSnapshot().value).toBe('denied');
		expect(actor.getSnapshot().context.queryable).toBe(true);
		expect(heard).toEqual([]);
	});

	test('change events follow the browser: granted → denied (revoked) → granted, told on each grant', async () => {
		const status = new FakeStatus('granted');
		browser(status);
		const { actor, heard } = asChild(permissionMachine);
		await settled(actor);
		status.set('denied');
		expect(actor.getSnapshot().value).toBe('denied');
		status.set('granted');
		expect(actor.getSnapshot().value).toBe('granted');
		expect(heard).toEqual([{ type: 'permission.granted' }, { type: 'permission.granted' }]);
	});

	test('without camera in the Permissions API: prompt, then getUserMedia outcomes decide', async () => {
		browser(null);
		const { actor, heard } = asChild(permissionMachine);
		await settled(actor);
		expect(actor.getSnapshot().value).toBe('prompt');
		expect(actor.getSnapshot().context.queryable).toBe(false);
		actor.send({ type: 'permission.observed', state: 'denied' });
		expect(actor.getSnapshot().value).toBe('denied');
		actor.send({ type: 'permission.observed', state: 'granted' });
		expect(actor.getSnapshot().value).toBe('granted');
		expect(heard).toEqual([{ type: 'permission.granted' }]);
	});

	test('no camera API at all (here: Node, no navigator) → unsupported', () => {
		const { actor } = asChild(permissionMachine);
		expect(actor.getSnapshot().value).toBe('unsupported');
	});

	test('every camera start says granted again: told once, not once per start; a refusal still counts', async () => {
		browser(new FakeStatus('granted'));
		const { actor, heard } = asChild(permissionMachine);
		await settled(actor);
		actor.send({ type: 'permission.observed', state: 'granted' });
		actor.send({ type: 'permission.observed', state: 'granted' });
		expect(actor.getSnapshot().value).toBe('granted');
		expect(heard).toHaveLength(1);
		// Revoked behind the Permissions API's back.
		actor.send({ type: 'permission.observed', state: 'denied' });
		expect(actor.getSnapshot().value).toBe('denied');
	});
});

/**
 * The rules, written out separately from the machine: the Permissions API's value wins when it
 * reports one; getUserMedia's outcome decides otherwise; `unknown`/`unsupported` only matter
 * while checking. The session is told "granted" on every arrival in granted, never while
 * staying there.
 */
type Value = 'checking' | PermissionValue | 'unsupported';
type WorldEvent =
	| { type: 'permission.changed'; state: PermissionValue }
	| { type: 'permission.observed'; state: 'granted' | 'denied' }
	| { type: 'permission.unknown' }
	| { type: 'permission.unsupported' };

function rule(value: Value, event: WorldEvent): Value {
	switch (event.type) {
		case 'permission.changed':
		case 'permission.observed':
			return event.state;
		case 'permission.unknown':
			return value === 'checking' ? 'prompt' : value;
		case 'permission.unsupported':
			return value === 'checking' ? 'unsupported' : value;
	}
}

const worldEvents: WorldEvent[] = [
	{ type: 'permission.changed', state: 'granted' },
	{ type: 'permission.changed', state: 'denied' },
	{ type: 'permission.changed', state: 'prompt' },
	{ type: 'permission.observed', state: 'granted' },
	{ type: 'permission.observed', state: 'denied' },
	{ type: 'permission.unknown' },
	{ type: 'permission.unsupported' }
];

function* sequences(length: number): Generator<WorldEvent[]> {
	if (length === 0) {
		yield [];
		return;
	}
	for (const head of sequences(length - 1)) for (const event of worldEvents) yield [...head, event];
}

describe('permission machine: model-based, every sequence of up to 3 events', () => {
	test('state, queryable and what the session was told follow the rules after every step', () => {
		let checked = 0;
		for (const steps of sequences(3)) {
			let emit: (e: WorldEvent) => void = () => {};
			const machine = permissionMachine.provide({
				actors: {
					permissionStatus: fromCallback(({ sendBack }) => {
						emit = sendBack;
						return () => {};
					})
				}
			});
			const { parent, actor, heard } = asChild(machine);
			let value: Value = 'checking';
			let told = 0;
			let queryable = false;
			for (const event of steps) {
				// Browser facts come from the status actor; getUserMedia outcomes from the session.
				if (event.type === 'permission.observed') actor.send(event);
				else emit(event);
				const next = rule(value, event);
				if (next === 'granted' && value !== 'granted') told++;
				if (event.type === 'permission.changed') queryable = true;
				value = next;
				const where = steps.map((e) => `${e.type}${'state' in e ? `(${e.state})` : ''}`).join(' → ');
				expect(actor.getSnapshot().value, where).toBe(value);
				expect(actor.getSnapshot().context.queryable, where).toBe(queryable);
				expect(heard, where).toEqual(Array.from({ length: told }, () => ({ type: 'permission.granted' })));
				checked++;
			}
			parent.stop();
		}
		expect(checked).toBe(3 * 7 ** 3);
	});
});
