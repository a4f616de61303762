import { describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, fromPromise, SimulatedClock, waitFor } from 'xstate';
import { callMachine, type CallInput } from '$machines/call.machine';
import type { MediaCommand } from '$machines/actors/call';
import { allStatePaths, FakeTrack, replayShortestPaths, videoStream } from './fakes';

const pc = {} as RTCPeerConnection;

function setup(direction: 'outgoing' | 'incoming', mic: FakeTrack | null = new FakeTrack('audio')) {
	const clock = new SimulatedClock();
	const commands: MediaCommand[] = [];
	let media: (e: { type: string; [k: string]: unknown }) => void = () => {};
	const spies = { sendDecline: vi.fn(), sendCancel: vi.fn(), reportEnded: vi.fn() };
	const machine = callMachine.provide({
		actors: {
			mediaCall: fromCallback(({ sendBack, receive }) => {
				media = sendBack;
				receive((c) => commands.push(c as MediaCommand));
				return () => {};
			}),
			openMicrophone: fromPromise(async () => mic as unknown as MediaStreamTrack | null),
			ice: fromCallback(() => () => {}) as never
		},
		actions: spies
	});
	const input: CallInput = {
		direction,
		remoteId: 'far',
		callId: 'c1',
		peer: null,
		localStream: videoStream('front')
	};
	const actor = createActor(machine, { input, clock }).start();
	return { actor, clock, commands, media: (e: { type: string; [k: string]: unknown }) => media(e), spies, mic };
}

async function connectOutgoing(t: ReturnType<typeof setup>) {
	await waitFor(t.actor, (s) => s.matches({ calling: 'offering' }));
	t.media({ type: 'media.pc', pc });
	t.media({ type: 'media.signalingState', state: 'have-local-offer' });
	t.media({ type: 'media.signalingState', state: 'stable' });
	t.actor.send({ type: 'ice.connected' });
}

describe('call machine: outgoing', () => {
	test('mic opens at dial, offer → have-local-offer → answer (stable) → ICE connected', async () => {
		const t = setup('outgoing');
		expect(t.actor.getSnapshot().value).toEqual({ calling: 'microphone' });
		await waitFor(t.actor, (s) => s.matches({ calling: 'offering' }));
		const dial = t.commands[0];
		expect(dial.type).toBe('media.dial');
		// The outgoing stream: camera video + the call's microphone.
		const kinds = (dial as { stream: MediaStream }).stream.getTracks().map((tr) => tr.kind).sort();
		expect(kinds).toEqual(['audio', 'video']);
		t.media({ type: 'media.pc', pc });
		expect(t.actor.getSnapshot().children.ice).toBeDefined();
		t.media({ type: 'media.signalingState', state: 'have-local-offer' });
		expect(t.actor.getSnapshot().value).toEqual({ calling: 'haveLocalOffer' });
		t.media({ type: 'media.signalingState', state: 'stable' });
		expect(t.actor.getSnapshot().value).toEqual({ connecting: 'ice' });
		t.actor.send({ type: 'ice.connected' });
		expect(t.actor.getSnapshot().value).toBe('connected');
	});

	test.each([
		['decline', 'declined'],
		['busy', 'busy']
	] as const)('the far side answers %s → ended %s', async (type, reason) => {
		const t = setup('outgoing');
		await waitFor(t.actor, (s) => s.matches({ calling: 'offering' }));
		t.actor.send({ type: 'call.control', message: { type, callId: 'c1' } });
		expect(t.actor.getSnapshot().value).toBe('ended');
		expect(t.actor.getSnapshot().context.failure?.reason).toBe(reason);
		expect(t.spies.reportEnded).toHaveBeenCalledTimes(1);
		expect(t.mic!.readyState).toBe('ended');
	});

	test('unknown ID → failed peer-unavailable', async () => {
		const t = setup('outgoing');
		await waitFor(t.actor, (s) => s.matches({ calling: 'offering' }));
		t.actor.send({ type: 'call.peerUnavailable' });
		expect(t.actor.getSnapshot().value).toBe('failed');
		expect(t.actor.getSnapshot().context.failure?.reason).toBe('peer-unavailable');
	});

	test('nobody answers within ringTimeout → ended no-answer, and the callee is told', async () => {
		const t = setup('outgoing');
		await waitFor(t.actor, (s) => s.matches({ calling: 'offering' }));
		t.clock.increment(29_999);
		expect(t.actor.getSnapshot().matches('calling')).toBe(true);
		t.clock.increment(1);
		expect(t.actor.getSnapshot().context.failure?.reason).toBe('no-answer');
		expect(t.spies.sendCancel).toHaveBeenCalledTimes(1);
	});

	test('hanging up while it rings cancels on the far side', async () => {
		const t = setup('outgoing');
		await waitFor(t.actor, (s) => s.matches({ calling: 'offering' }));
		t.actor.send({ type: 'call.hangup' });
		expect(t.actor.getSnapshot().context.failure?.reason).toBe('hung-up');
		expect(t.spies.sendCancel).toHaveBeenCalledTimes(1);
		expect(t.commands.at(-1)).toEqual({ type: 'media.close' });
	});

	test('no microphone: the call goes on with video only', async () => {
		const t = setup('outgoing', null);
		await waitFor(t.actor, (s) => s.matches({ calling: 'offering' }));
		expect(t.actor.getSnapshot().context.micAvailable).toBe(false);
		const dial = t.commands[0] as { stream: MediaStream };
		expect(dial.stream.getTracks().map((tr) => tr.kind)).toEqual(['video']);
	});

	test('flip mid-call replaces the video track (no new offer); mute toggles the mic track', async () => {
		const t = setup('outgoing');
		await connectOutgoing(t);
		const back = videoStream('back');
		t.actor.send({ type: 'call.localStream', stream: back });
		expect(t.commands.at(-1)).toEqual({ type: 'media.replaceTrack', track: back.getVideoTracks()[0] });
		expect(t.commands.filter((c) => c.type === 'media.dial')).toHaveLength(1);
		t.actor.send({ type: 'call.toggleMic' });
		expect(t.mic!.enabled).toBe(false);
		t.actor.send({ type: 'call.toggleCamera' });
		expect(back.getVideoTracks()[0].enabled).toBe(false);
		t.actor.send({ type: 'call.hangup' });
		// The camera stays on for the preview, re-enabled; the mic is released.
		expect(back.getVideoTracks()[0].enabled).toBe(true);
		expect(t.mic!.readyState).toBe('ended');
	});

	test('the far side hangs up → ended remote-hung-up', async () => {
		const t = setup('outgoing');
		await connectOutgoing(t);
		t.media({ type: 'media.closed' });
		expect(t.actor.getSnapshot().context.failure?.reason).toBe('remote-hung-up');
	});

	test('media stall → recovering; media flows again → connected without a re-dial', async () => {
		const t = setup('outgoing');
		await connectOutgoing(t);
		t.actor.send({ type: 'ice.stalled' });
		expect(t.actor.getSnapshot().value).toEqual({ recovering: 'waiting' });
		t.actor.send({ type: 'ice.resumed' });
		expect(t.actor.getSnapshot().value).toBe('connected');
		expect(t.commands.filter((c) => c.type === 'media.redial')).toHaveLength(0);
	});

	test('caller: still down after recoverGrace → re-dial with the same call; new path connects', async () => {
		const t = setup('outgoing');
		await connectOutgoing(t);
		t.actor.send({ type: 'ice.disconnected' });
		t.clock.increment(4999);
		expect(t.actor.getSnapshot().value).toEqual({ recovering: 'waiting' });
		t.clock.increment(1);
		expect(t.actor.getSnapshot().value).toEqual({ recovering: 'redialing' });
		expect(t.commands.at(-1)?.type).toBe('media.redial');
		expect(t.actor.getSnapshot().context.recoveries).toBe(1);
		// The old connection's close arriving late does not end the call.
		t.media({ type: 'media.closed' });
		expect(t.actor.getSnapshot().matches('recovering')).toBe(true);
		t.media({ type: 'media.pc', pc });
		t.actor.send({ type: 'ice.connected' });
		expect(t.actor.getSnapshot().value).toBe('connected');
	});

	test('caller: re-dials up to the limit, then ends connection-lost within the deadline', async () => {
		const t = setup('outgoing');
		await connectOutgoing(t);
		t.actor.send({ type: 'ice.stalled' });
		t.clock.increment(5000); // re-dial 1
		t.clock.increment(5000); // no answer → waiting
		t.clock.increment(5000); // re-dial 2 (at 15 s the deadline ends it)
		expect(t.actor.getSnapshot().value).toBe('ended');
		expect(t.actor.getSnapshot().context.failure?.reason).toBe('connection-lost');
		expect(t.commands.filter((c) => c.type === 'media.redial').length).toBeLessThanOrEqual(2);
	});

	test('the far side vanished from signaling during recovery → ended connection-lost at once', async () => {
		const t = setup('outgoing');
		await connectOutgoing(t);
		t.actor.send({ type: 'ice.stalled' });
		t.clock.increment(5000);
		t.actor.send({ type: 'call.peerUnavailable' });
		expect(t.actor.getSnapshot().context.failure?.reason).toBe('connection-lost');
	});

	test('a media error → failed media-error', async () => {
		const t = setup('outgoing');
		await waitFor(t.actor, (s) => s.matches({ calling: 'offering' }));
		t.media({ type: 'media.error', message: 'boom' });
		expect(t.actor.getSnapshot().value).toBe('failed');
		expect(t.actor.getSnapshot().context.failure?.reason).toBe('media-error');
	});
});

describe('call machine: incoming', () => {
	test('rings and never answers by itself', async () => {
		const t = setup('incoming');
		expect(t.actor.getSnapshot().value).toBe('ringing');
		t.clock.increment(10_000);
		expect(t.actor.getSnapshot().value).toBe('ringing');
		expect(t.commands).toEqual([]);
	});

	test('accept → mic → answer → have-remote-offer → stable → connected', async () => {
		const t = setup('incoming');
		t.actor.send({ type: 'call.accept' });
		await waitFor(t.actor, (s) => s.matches({ connecting: 'answering' }));
		expect(t.commands[0].type).toBe('media.answer');
		t.media({ type: 'media.pc', pc });
		t.media({ type: 'media.signalingState', state: 'have-remote-offer' });
		expect(t.actor.getSnapshot().value).toEqual({ connecting: 'haveRemoteOffer' });
		t.media({ type: 'media.signalingState', state: 'stable' });
		expect(t.actor.getSnapshot().value).toEqual({ connecting: 'ice' });
		t.actor.send({ type: 'ice.connected' });
		expect(t.actor.getSnapshot().value).toBe('connected');
	});

	test('decline tells the caller and ends', () => {
		const t = setup('incoming');
		t.actor.send({ type: 'call.decline' });
		expect(t.actor.getSnapshot().value).toBe('ended');
		expect(t.spies.sendDecline).toHaveBeenCalledTimes(1);
	});

	test('the caller gives up while ringing → ended missed', () => {
		const t = setup('incoming');
		t.actor.send({ type: 'call.control', message: { type: 'cancel', callId: 'c1' } });
		expect(t.actor.getSnapshot().context.failure?.reason).toBe('missed');
	});

	test("recovery: waits for the caller's re-dial and answers it without a prompt", async () => {
		const t = setup('incoming');
		t.actor.send({ type: 'call.accept' });
		await waitFor(t.actor, (s) => s.matches({ connecting: 'answering' }));
		t.media({ type: 'media.pc', pc });
		t.media({ type: 'media.signalingState', state: 'stable' });
		t.actor.send({ type: 'ice.connected' });
		t.actor.send({ type: 'ice.stalled' });
		t.clock.increment(5000);
		expect(t.actor.getSnapshot().value).toEqual({ recovering: 'awaitingRedial' });
		const redial = { peer: 'far', metadata: { callId: 'c1' } } as unknown as import('peerjs').MediaConnection;
		t.actor.send({ type: 'call.redial', call: redial });
		expect(t.actor.getSnapshot().value).toEqual({ recovering: 'answering' });
		expect(t.commands.at(-1)).toMatchObject({ type: 'media.adopt', call: redial });
		t.actor.send({ type: 'ice.connected' });
		expect(t.actor.getSnapshot().value).toBe('connected');
	});

	test('recovery: no re-dial arrives → ended connection-lost by the deadline', async () => {
		const t = setup('incoming');
		t.actor.send({ type: 'call.accept' });
		await waitFor(t.actor, (s) => s.matches({ connecting: 'answering' }));
		t.actor.send({ type: 'ice.connected' });
		t.actor.send({ type: 'ice.disconnected' });
		t.clock.increment(14_999);
		expect(t.actor.getSnapshot().matches('recovering')).toBe(true);
		t.clock.increment(1);
		expect(t.actor.getSnapshot().context.failure?.reason).toBe('connection-lost');
	});

	test('unanswered for ringTimeout → missed', () => {
		const t = setup('incoming');
		t.clock.increment(30_000);
		expect(t.actor.getSnapshot().context.failure?.reason).toBe('missed');
	});
});

describe('call machine: model-based', () => {
	/** Inert implementations: the replay sends the model's events itself. */
	const machine = callMachine.provide({
		actors: {
			mediaCall: fromCallback(() => () => {}),
			openMicrophone: fromPromise(() => new Promise<MediaStreamTrack | null>(() => {})),
			ice: fromCallback(() => () => {}) as never
		},
		actions: { sendDecline: () => {}, sendCancel: () => {}, reportEnded: () => {} }
	});

	test.each(['outgoing', 'incoming'] as const)('%s: shortest paths replay on the real actor', (direction) => {
		const input: CallInput = { direction, remoteId: 'far', callId: 'c1', peer: null, localStream: videoStream() };
		const { mismatches } = replayShortestPaths(machine, sampleEvents, input);
		expect(mismatches).toEqual([]);
	});

	test('both directions together reach every state', () => {
		const reached = new Set<string>();
		for (const direction of ['outgoing', 'incoming'] as const) {
			const input: CallInput = { direction, remoteId: 'far', callId: 'c1', peer: null, localStream: videoStream() };
			replayShortestPaths(machine, sampleEvents, input).reached.forEach((p) => reached.add(p));
		}
		// `idle` is transient (an eventless transition picks the direction) and never rests.
		expect([...reached, 'idle'].sort()).toEqual(allStatePaths(callMachine).sort());
	});
});

const sampleEvents = [
	{ type: 'xstate.done.actor.microphone', output: null },
	{ type: 'media.signalingState', state: 'have-local-offer' },
	{ type: 'media.signalingState', state: 'have-remote-offer' },
	{ type: 'media.signalingState', state: 'stable' },
	{ type: 'media.closed' },
	{ type: 'media.error', message: 'x' },
	{ type: 'call.accept' },
	{ type: 'call.decline' },
	{ type: 'call.hangup' },
	{ type: 'call.control', message: { type: 'decline', callId: 'c1' } },
	{ type: 'call.peerUnavailable' },
	{ type: 'ice.connected' },
	{ type: 'ice.stalled' },
	{ type: 'ice.resumed' },
	{ type: 'ice.failed' },
	{ type: 'call.redial', call: {} },
	{ type: 'xstate.after.recoverGrace.call.recovering.waiting' },
	{ type: 'xstate.after.recoverGrace.call.recovering.redialing' },
	{ type: 'xstate.after.recoveryDeadline.call.recovering' }
] as never[];
