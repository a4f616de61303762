/**
 * The inspector draws what the machine definitions say. The expected counts here come from the
 * raw machine configs (what a developer wrote), not from XState's StateNode tree that the chart
 * model reads, so a walker that skips nested states, `after`, `always` or invoke `onDone` fails.
 */
import { describe, expect, it, vi } from 'vitest';
import type { AnyStateMachine } from 'xstate';
import { createMachine } from 'xstate';
import { sessionMachine } from '$machines/session.machine';
import { callMachine } from '$machines/call.machine';
import { photoMachine } from '$machines/photo.machine';
import { activePaths, chartModel, collectMachines, guardLabel, transitionKey } from '$lib/inspector/model';
import { layoutChart, wrap } from '$lib/inspector/layout';
import { REDACTED, Redactor } from '$lib/inspector/redact';
import type { OpenCameraInput, OpenCameraOutput } from '$machines/actors/media';
import type { Identity, SignalingConfig } from '$machines/actors/signaling';

type Config = Record<string, unknown>;
const toArray = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** States and transitions (as `source label`) counted from a raw config. */
function fromConfig(config: Config, path = ''): { states: string[]; transitions: string[] } {
	const states: string[] = [];
	const transitions: string[] = [];
	const add = (label: string, value: unknown) => toArray(value).forEach(() => transitions.push(`${path} ${label}`));
	for (const [event, value] of Object.entries((config.on ?? {}) as Config)) add(event, value);
	for (const [delay, value] of Object.entries((config.after ?? {}) as Config)) {
		add(`after ${Number.isNaN(+delay) ? delay : `${delay}ms`}`, value);
	}
	add('always', config.always);
	add('done (final state reached)', config.onDone);
	for (const inv of toArray(config.invoke) as Config[]) {
		add(`done: ${inv.src}`, inv.onDone);
		add(`error: ${inv.src}`, inv.onError);
	}
	for (const [key, child] of Object.entries((config.states ?? {}) as Record<string, Config>)) {
		const childPath = path ? `${path}.${key}` : key;
		states.push(childPath);
		const sub = fromConfig(child, childPath);
		states.push(...sub.states);
		transitions.push(...sub.transitions);
	}
	return { states, transitions };
}

const machines = collectMachines(sessionMachine, callMachine, photoMachine);
const sorted = (list: string[]) => [...list].sort();

describe('inspector chart model', () => {
	it('finds every machine the session can run, the spawned call and its ice child included', () => {
		expect(machines.map((m) => m.id)).toEqual(
			expect.arrayContaining(['session', 'permission', 'capture', 'signaling', 'call', 'ice'])
		);
		expect(new Set(machines.map((m) => m.id)).size).toBe(machines.length);
	});

	describe.each(machines.map((m) => [m.id, m] as [string, AnyStateMachine]))('%s', (_id, machine) => {
		const expected = fromConfig(machine.config as Config);
		const model = chartModel(machine);
		const layout = layoutChart(model);

		it('draws one box per state node of the definition', () => {
			expect(expected.states.length).toBeGreaterThan(0);
			const drawn = layout.boxes.slice(1).map((b) => b.path); // boxes[0] is the machine itself
			expect(sorted(drawn)).toEqual(sorted(expected.states));
			expect(layout.boxes[0].path).toBe('');
		});

		it('draws each transition once, labelled with its event', () => {
			const keys = layout.chips.map((c) => c.key);
			expect(new Set(keys).size).toBe(keys.length);
			const byKey = new Map(model.edges.map((e) => [e.key, e]));
			const drawn = layout.chips.map((c) => `${c.source} ${byKey.get(c.key)!.event}`);
			expect(sorted(drawn)).toEqual(sorted(expected.transitions));
			// The chip shows the event label as its first line.
			for (const chip of layout.chips) expect(byKey.get(chip.key)!.event.startsWith(chip.lines[0].text)).toBe(true);
		});

		it('gives every target of every transition an arrow into the target box', () => {
			const boxes = new Map(layout.boxes.map((b) => [b.path, b]));
			const wanted = model.edges.flatMap((e) => e.targets.map((t) => `${e.key}→${t}`));
			expect(sorted(layout.arrows.map((a) => `${a.key}→${a.target}`))).toEqual(sorted(wanted));
			for (const arrow of layout.arrows) {
				const box = boxes.get(arrow.target)!;
				const end = arrow.d.trim().split(' ').pop()!;
				expect(end).toBe(`H${box.x + box.w + 1}`);
			}
		});

		it('nests boxes inside their parents and chips inside their state', () => {
			const boxes = new Map(layout.boxes.map((b) => [b.path, b]));
			for (const node of model.nodes) {
				const parent = boxes.get(node.path)!;
				for (const childPath of node.children) {
					const child = boxes.get(childPath)!;
					expect(child.x).toBeGreaterThan(parent.x);
					expect(child.y).toBeGreaterThan(parent.y);
					expect(child.x + child.w).toBeLessThan(parent.x + parent.w);
					expect(child.y + child.h).toBeLessThan(parent.y + parent.h);
				}
			}
			for (const chip of layout.chips) {
				const box = boxes.get(chip.source)!;
				expect(chip.y + chip.h).toBeLessThanOrEqual(box.y + box.h);
				for (const child of layout.boxes.filter((b) => b.path.startsWith(chip.source ? chip.source + '.' : ''))) {
					if (child === box) continue;
					// Chips sit above the children, never on top of them.
					expect(chip.y + chip.h).toBeLessThanOrEqual(child.y);
				}
			}
		});
	});

	it('labels guards, delays, invoke results and descriptions from the definitions', () => {
		const byId = new Map(machines.map((m) => [m.id, chartModel(m)]));
		const capture = byId.get('capture')!;
		expect(capture.edges).toContainEqual(
			expect.objectContaining({ source: 'live', event: 'camera.flip', guard: 'canFlip', targets: ['switching'] })
		);
		expect(capture.edges).toContainEqual(
			expect.objectContaining({
				source: 'acquiring',
				event: 'error: openCamera',
				guard: 'overconstrainedFirstTime',
				targets: ['acquiring'],
				reenter: true,
				description: 'OverconstrainedError: retry once asking for any video'
			})
		);
		const call = byId.get('call')!;
		expect(call.edges).toContainEqual(
			expect.objectContaining({
				source: 'recovering',
				event: 'after recoveryDeadline',
				delay: 'recoveryDeadline',
				targets: ['ended'],
				description: 'Recovery gave up (all attempts fall within 20 s of the loss)'
			})
		);
		expect(call.edges).toContainEqual(
			expect.objectContaining({ source: 'recovering.waiting', event: 'after recoverGrace', guard: 'canRedial', targets: ['recovering.redialing'] })
		);
		expect(call.edges).toContainEqual(
			expect.objectContaining({ source: 'connecting.answering', event: 'media.signalingState', guard: 'signalingIs(have-remote-offer)', targets: ['connecting.haveRemoteOffer'] })
		);
		expect(call.edges).toContainEqual(expect.objectContaining({ source: 'idle', event: 'always', guard: 'isOutgoing', targets: ['calling'] }));
		expect(call.nodes.find((n) => n.path === 'ended')?.kind).toBe('final');
		expect(call.nodes.find((n) => n.path === 'calling')?.initial).toBe('calling.microphone');
		const permission = byId.get('permission')!;
		expect(permission.edges).toContainEqual(
			expect.objectContaining({ source: '', guard: 'changedTo(granted)', targets: ['granted'] })
		);
		const ice = byId.get('ice')!;
		expect(ice.nodes.map((n) => n.path)).toContain('connection.connected.flowing');
		expect(ice.nodes.map((n) => n.path)).toContain('gathering.complete');
		expect(ice.edges).toContainEqual(
			expect.objectContaining({ source: 'connection.connected.flowing', event: 'after mediaStallGrace', targets: ['connection.connected.stalled'] })
		);
	});

	it('draws parallel regions, history and inline guards of any machine', () => {
		const machine = createMachine({
			id: 'demo',
			type: 'parallel',
			states: {
				a: {
					initial: 'x',
					states: { x: { on: { go: { target: 'y', guard: function isReady() { return true; } } } }, y: { after: { 500: 'x' } }, h: { type: 'history' } }
				},
				b: { initial: 'done', states: { done: { type: 'final' } }, onDone: { actions: () => {} } }
			}
		});
		const model = chartModel(machine);
		expect(model.nodes.map((n) => n.path)).toEqual(['', 'a', 'a.x', 'a.y', 'a.h', 'b', 'b.done']);
		expect(model.nodes[0].kind).toBe('parallel');
		expect(model.nodes.find((n) => n.path === 'a.h')?.kind).toBe('history');
		expect(model.edges.map((e) => [e.source, e.event, e.guard])).toEqual([
			['a.x', 'go', 'isReady'],
			['a.y', 'after 500ms', null],
			['b', 'done (final state reached)', null]
		]);
		expect(layoutChart(model).boxes).toHaveLength(7);
	});

	it('names higher-order and parameterised guards', () => {
		expect(guardLabel({ type: 'controlIs', params: 'decline' })).toBe('controlIs(decline)');
		expect(guardLabel(undefined)).toBeNull();
	});

	it('lists the active state nodes of a snapshot value', () => {
		expect(activePaths('live')).toEqual(['live']);
		expect(activePaths({ calling: 'offering' })).toEqual(['calling', 'calling.offering']);
		expect(activePaths({ a: { x: 'y' }, b: 'c' })).toEqual(['a', 'a.x', 'a.x.y', 'b', 'b.c']);
	});

	it('wraps long labels without losing characters', () => {
		const text = 'answer(): setRemoteDescription(offer) → createAnswer → setLocalDescription';
		const lines = wrap(text, 20);
		expect(lines.every((l) => l.length <= 20)).toBe(true);
		expect(lines.join(' ').replace(/\s+/g, '')).toBe(text.replace(/\s+/g, ''));
	});
});

describe('inspection log → chart', () => {
	it('records the transitions each event took under the keys the chart draws', async () => {
		const { InspectionLog } = await import('$lib/session.svelte');
		const { captureMachine } = await import('$machines/capture.machine');
		const { createActor, fromCallback, fromPromise, waitFor } = await import('xstate');
		const log = new InspectionLog();
		const machine = captureMachine.provide({
			actors: {
				openCamera: fromPromise<OpenCameraOutput, OpenCameraInput>(async () => ({
					stream: null as unknown as MediaStream,
					info: {
						deviceId: 'a',
						label: 'A',
						width: 640,
						height: 480,
						facing: null,
						mirrored: false,
						controls: { zoom: null, torch: false }
					},
					devices: [
						{ deviceId: 'a', label: 'A' },
						{ deviceId: 'b', label: 'B' }
					]
				})),
				watchCamera: fromCallback(() => () => {})
			},
			actions: { reportLive: () => {}, reportFailed: () => {} }
		});
		const actor = createActor(machine, { id: 'capture', inspect: log.record }).start();
		actor.send({ type: 'camera.start' });
		await waitFor(actor, (s) => s.matches('live'));
		actor.send({ type: 'camera.flip' });
		await waitFor(actor, (s) => s.matches('live'));
		actor.stop();
		log.flush();

		const edges = new Map(chartModel(captureMachine).edges.map((e) => [e.key, e]));
		const taken = log.entries.flatMap((entry) =>
			entry.transitions.map((t) => {
				const edge = edges.get(transitionKey(t.source, t.eventType, t.index));
				return `${entry.eventType}: ${edge?.source} --${edge?.event}--> ${edge?.targets.join(',')}`;
			})
		);
		expect(taken).toEqual([
			'camera.start: idle.off --camera.start--> acquiring',
			expect.stringMatching(/^xstate\.done\.actor\..*: acquiring --done: openCamera--> live$/),
			'camera.flip: live --camera.flip--> switching',
			expect.stringMatching(/^xstate\.done\.actor\..*: switching\.opening --done: openCamera--> live$/)
		]);
		expect(log.entries.find((e) => e.eventType === 'camera.flip')).toMatchObject({ machine: 'capture', from: 'live.steady', to: 'switching.opening' });
	});
});

describe('the inspection log stays off the path of a call', () => {
	it('records in the step only; the entries come at the next idle moment, in order, the newest 400 kept', async () => {
		const { InspectionLog } = await import('$lib/session.svelte');
		const { createActor, setup } = await import('xstate');
		const log = new InspectionLog();
		const machine = setup({}).createMachine({
			id: 'counter',
			context: { n: 0, nested: { list: [1, 2, 3] } },
			initial: 'even',
			states: {
				even: { on: { tick: 'odd' } },
				odd: { on: { tick: 'even' } }
			}
		});
		const actor = createActor(machine, { id: 'counter', inspect: log.record }).start();
		for (let i = 0; i < 450; i++) actor.send({ type: 'tick' });
		// Nothing copied or redacted during the transitions.
		expect(log.entries).toEqual([]);
		// Where there is no idle callback (Node here, WebKit), within a short pause.
		await vi.waitFor(() => expect(log.entries).toHaveLength(400), { timeout: 1000, interval: 5 });
		const seqs = log.entries.map((e) => e.seq);
		expect(seqs).toEqual(seqs.map((_, i) => 452 - 400 + i));
		expect(log.entries.at(-1)).toMatchObject({ machine: 'counter', eventType: 'tick', from: 'odd', to: 'even' });
		expect(log.entries.at(-2)).toMatchObject({ from: 'even', to: 'odd' });
		// Recorded times are those of the events, not of the flush.
		expect(log.entries.at(-1)!.time).toBeGreaterThanOrEqual(log.entries[0].time);
		actor.stop();
	});
});

describe('secrets never reach the inspector', () => {
	const token = 'k3y-t0ken-9f8e7d';
	const turn = { urls: ['turn:turn.example.org:3478'], username: 'turn-user-1700000000', credential: 'turn-pass-s3cret' };

	it('redacts secret keys at any depth, whatever their value, and keeps everything else', () => {
		const hostile = JSON.parse(
			JSON.stringify({
				output: { host: 'h', key: 'peerjs', iceServers: [{ urls: 'stun:s' }, turn], identity: { id: 'brave-otter', token } },
				nested: [[{ deeper: { authToken: { value: 'abcdefgh' } } }]],
				credential: 12345678,
				list: [{ Password: ['a1b2c3d4', 'e5f6g7h8'] }],
				url: `wss://h/peerjs?key=peerjs&id=brave-otter&token=${token}x&x=1`
			})
		);
		// JSON.parse makes `__proto__` an own key: hostile input may carry one.
		const proto = JSON.parse(`{"__proto__": {"token": "${token}"}, "ok": 1}`);
		const redactor = new Redactor();
		const out = redactor.redact({ hostile, proto }) as { hostile: typeof hostile; proto: Record<string, unknown> };
		const text = JSON.stringify(out);
		for (const secret of [token, turn.username, turn.credential, 'abcdefgh', '12345678', 'a1b2c3d4', 'e5f6g7h8']) {
			expect(text).not.toContain(secret);
		}
		expect(out.hostile.output.identity).toEqual({ id: 'brave-otter', token: REDACTED });
		expect(out.hostile.output.iceServers).toEqual([{ urls: 'stun:s' }, { urls: turn.urls, username: REDACTED, credential: REDACTED }]);
		expect(out.hostile.output).toMatchObject({ host: 'h', key: 'peerjs' });
		expect(out.hostile.credential).toBe(REDACTED);
		expect(out.hostile.nested[0][0].deeper.authToken).toBe(REDACTED);
		expect(out.hostile.list[0].Password).toBe(REDACTED);
		expect(out.hostile.url).toBe(`wss://h/peerjs?key=peerjs&id=brave-otter&token=${REDACTED}&x=1`);
		expect(Object.getOwnPropertyDescriptor(out.proto, '__proto__')?.value).toEqual({ token: REDACTED });
		expect(out.proto.ok).toBe(1);
		// The input is not changed.
		expect(hostile.output.identity.token).toBe(token);
	});

	it('a secret it has seen is scrubbed from any later string that quotes it', () => {
		const redactor = new Redactor();
		redactor.learn({ identity: { token } });
		expect(redactor.redact({ message: `ID taken by token ${token}.` })).toEqual({ message: `ID taken by token ${REDACTED}.` });
		// Short values are not learnt: scrubbing them would mangle ordinary text.
		redactor.learn({ token: 'ab' });
		expect(redactor.scrubText('tab cab')).toBe('tab cab');
	});

	it('the inspection log of the real signaling machine holds neither the token nor the TURN credentials', async () => {
		const { InspectionLog } = await import('$lib/session.svelte');
		const { signalingMachine } = await import('$machines/signaling.machine');
		const { createActor, fromCallback, fromPromise, waitFor } = await import('xstate');
		const log = new InspectionLog();
		let emit: (e: { type: string; [k: string]: unknown }) => void = () => {};
		const machine = signalingMachine.provide({
			actors: {
				loadConfig: fromPromise<SignalingConfig, void>(async () => ({
					cloud: false,
					host: '127.0.0.1',
					port: 8080,
					path: '/peerjs',
					secure: false,
					key: 'peerjs',
					iceServers: [turn],
					source: 'server'
				})),
				claimIdentity: fromPromise<Identity, { fresh: boolean; pinned: string | null }>(async () => ({ id: 'brave-otter', token, temporary: false })),
				peerConnection: fromCallback(({ sendBack }) => {
					emit = sendBack;
					return () => {};
				}),
				networkWatch: fromCallback(() => () => {})
			}
		});
		const actor = createActor(machine, { inspect: log.record }).start();
		await waitFor(actor, (s) => s.matches({ connecting: 'registering' }));
		emit({ type: 'peer.opened', id: 'brave-otter' });
		// A server error that quotes the token.
		emit({ type: 'peer.error', errorType: 'server-error', message: `Bad token ${token} for brave-otter`, peerId: null });
		actor.stop();
		log.flush();
		const text = JSON.stringify(log.entries);
		expect(log.entries.length).toBeGreaterThan(3);
		for (const secret of [token, turn.username, turn.credential]) expect(text).not.toContain(secret);
		// Redacted, not dropped: the rest of the context is there.
		const opened = log.entries.find((e) => e.eventType === 'peer.opened')!;
		expect(opened.context).toMatchObject({
			id: 'brave-otter',
			identity: { id: 'brave-otter', token: REDACTED },
			config: { host: '127.0.0.1', iceServers: [{ urls: turn.urls, username: REDACTED, credential: REDACTED }] }
		});
		expect(log.entries.find((e) => e.eventType === 'peer.error')!.payload).toMatchObject({ message: `Bad token ${REDACTED} for brave-otter` });
	});
});
