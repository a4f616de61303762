import { describe, expect, test, vi } from 'vitest';
import { createActor, createMachine, fromCallback } from 'xstate';
import { sessionMachine, validatePeerId } from '$machines/session.machine';
import { callMachine } from '$machines/call.machine';
import type { MediaConnection, Peer } from 'peerjs';
import { videoStream } from './fakes';

/** A child stand-in that records what the session sends it. */
function recorder(id: string, log: { to: string; type: string }[]) {
	return createMachine({
		id,
		on: { '*': { actions: ({ event }) => log.push({ to: id, type: event.type }) } }
	});
}

function setup() {
	const log: { to: string; type: string }[] = [];
	const rejectBusy = vi.fn();
	const machine = sessionMachine.provide({
		actors: {
			permission: recorder('permission', log) as never,
			capture: recorder('capture', log) as never,
			signaling: recorder('signaling', log) as never,
			call: callMachine.provide({
				actors: {
					mediaCall: fromCallback(() => () => {}),
					// Answers at once: no microphone, a video-only call.
					microphone: fromCallback(({ sendBack, receive }) => {
						receive(() => sendBack({ type: 'mic.unavailable' }));
						return () => {};
					}),
					ice: fromCallback(() => () => {}) as never
				},
				actions: { sendDecline: () => {}, sendCancel: () => {} }
			})
		},
		actions: { rejectBusy }
	});
	const actor = createActor(machine).start();
	const peer = { disconnected: false, destroyed: false } as unknown as Peer;
	return { actor, log, rejectBusy, peer };
}

const incoming = (from: string, callId: string) =>
	({ peer: from, metadata: { callId } }) as unknown as MediaConnection;

describe('session machine', () => {
	test('children are registered by systemId', () => {
		const { actor } = setup();
		for (const id of ['permission', 'capture', 'signaling']) expect(actor.system.get(id)).toBeDefined();
	});

	test('permission already granted → the camera starts without a tap', () => {
		const { actor, log } = setup();
		actor.send({ type: 'permission.granted' });
		expect(log).toContainEqual({ to: 'capture', type: 'camera.start' });
	});

	test('camera outcomes feed the permission machine', () => {
		const { actor, log } = setup();
		actor.send({ type: 'capture.live', stream: videoStream() });
		actor.send({ type: 'capture.failed', failure: { reason: 'permission-denied', message: '' } });
		actor.send({ type: 'capture.failed', failure: { reason: 'no-camera', message: '' } });
		expect(log.filter((e) => e.to === 'permission').map((e) => e.type)).toEqual(['permission.observed', 'permission.observed']);
	});

	test('dial: invalid IDs and a closed signaling are refused with a reason; a valid one spawns the call', () => {
		const { actor, peer } = setup();
		actor.send({ type: 'call.dial', peerId: '<b>x</b>' });
		expect(actor.getSnapshot().context.dialError).toBe('invalid');
		actor.send({ type: 'call.dial', peerId: '   ' });
		expect(actor.getSnapshot().context.dialError).toBe('empty');
		actor.send({ type: 'call.dial', peerId: 'friend' });
		expect(actor.getSnapshot().context.dialError).toBe('notConnected');
		actor.send({ type: 'signaling.peer', peer });
		actor.send({ type: 'call.dial', peerId: ' friend ' });
		const call = actor.getSnapshot().context.call!;
		expect(call.getSnapshot().context).toMatchObject({ remoteId: 'friend', direction: 'outgoing' });
		expect(actor.system.get('call')).toBe(call);
	});

	test('an incoming call rings; a second one while busy is rejected, the first untouched', () => {
		const { actor, peer, rejectBusy } = setup();
		actor.send({ type: 'signaling.peer', peer });
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		const first = actor.getSnapshot().context.call!;
		expect(first.getSnapshot().value).toBe('ringing');
		actor.send({ type: 'signaling.incomingCall', call: incoming('bob', 'c2') });
		expect(rejectBusy).toHaveBeenCalledTimes(1);
		expect(actor.getSnapshot().context.call).toBe(first);
	});

	/** Where the session's own chart says the call is. */
	const region = (actor: ReturnType<typeof setup>['actor']) => JSON.stringify((actor.getSnapshot().value as { call: unknown }).call);

	/** Drives the current (incoming) call to connected, as its media and ICE would. */
	function connect(actor: ReturnType<typeof setup>['actor']) {
		const call = actor.getSnapshot().context.call!;
		call.send({ type: 'call.accept' });
		call.send({ type: 'media.signalingState', state: 'have-remote-offer' });
		call.send({ type: 'media.signalingState', state: 'stable' });
		call.send({ type: 'ice.connected' });
		expect(call.getSnapshot().value).toBe('connected');
		return call;
	}

	test('the session follows the call in its own chart: free → ringing → active.setup → connected ⇄ recovering → free', () => {
		const { actor, peer } = setup();
		actor.send({ type: 'signaling.peer', peer });
		expect(region(actor)).toBe('"free"');
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		expect(region(actor)).toBe('"ringing"');
		const call = actor.getSnapshot().context.call!;
		call.send({ type: 'call.accept' });
		expect(region(actor)).toBe('{"active":"setup"}');
		call.send({ type: 'media.signalingState', state: 'have-remote-offer' });
		call.send({ type: 'media.signalingState', state: 'stable' });
		call.send({ type: 'ice.connected' });
		expect(region(actor)).toBe('{"active":"connected"}');
		call.send({ type: 'ice.stalled' });
		expect(region(actor)).toBe('{"active":"recovering"}');
		call.send({ type: 'ice.resumed' });
		expect(region(actor)).toBe('{"active":"connected"}');
		call.send({ type: 'call.hangup' });
		expect(region(actor)).toBe('"free"');
		// The ended call stays (its message is shown) until dismissed.
		expect(actor.getSnapshot().context.call).toBe(call);
		actor.send({ type: 'call.dismiss' });
		expect(actor.getSnapshot().context.call).toBeNull();
	});

	test('a stale dismiss while a new call rings does nothing: the call keeps ringing, nobody is told anything', () => {
		const { actor, peer } = setup();
		actor.send({ type: 'signaling.peer', peer });
		actor.send({ type: 'call.dial', peerId: 'bob' });
		actor.getSnapshot().context.call!.send({ type: 'call.hangup' });
		// The "Dismiss" button of that ended call is still on screen when a call comes in.
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		const ringing = actor.getSnapshot().context.call!;
		actor.send({ type: 'call.dismiss' });
		expect(actor.getSnapshot().context.call).toBe(ringing);
		expect(ringing.getSnapshot().value).toBe('ringing');
		expect(region(actor)).toBe('"ringing"');
	});

	test("a re-dial of the current call (same callId and peer) goes to that call once it is connected; before that it is busy", () => {
		const { actor, peer, rejectBusy } = setup();
		actor.send({ type: 'signaling.peer', peer });
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		// Still ringing: a same-id call is treated as busy.
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		expect(rejectBusy).toHaveBeenCalledTimes(1);
		const call = connect(actor);
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		expect(rejectBusy).toHaveBeenCalledTimes(1);
		expect(call.getSnapshot().value).toEqual({ recovering: { adopting: 'answering' } });
		// Someone else's call, or another callId from the same peer: busy.
		actor.send({ type: 'signaling.incomingCall', call: incoming('mallory', 'c1') });
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c9') });
		expect(rejectBusy).toHaveBeenCalledTimes(3);
	});

	test('negotiation failures reported on the Peer reach the call being set up', () => {
		const { actor, peer } = setup();
		actor.send({ type: 'signaling.peer', peer });
		actor.send({ type: 'call.dial', peerId: 'bob' });
		const call = actor.getSnapshot().context.call!;
		actor.send({ type: 'signaling.webrtcError', message: 'setRemoteDescription failed' });
		expect(call.getSnapshot().context.failure?.reason).toBe('negotiation-failed');
		expect(region(actor)).toBe('"free"');
	});

	test('control messages reach the call only when callId and sender match', () => {
		const { actor, peer } = setup();
		actor.send({ type: 'signaling.peer', peer });
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		const call = actor.getSnapshot().context.call!;
		actor.send({ type: 'signaling.control', from: 'mallory', message: { type: 'cancel', callId: 'c1' } });
		actor.send({ type: 'signaling.control', from: 'alice', message: { type: 'cancel', callId: 'other' } });
		expect(call.getSnapshot().value).toBe('ringing');
		actor.send({ type: 'signaling.control', from: 'alice', message: { type: 'cancel', callId: 'c1' } });
		expect(call.getSnapshot().value).toBe('ended');
	});

	test('peer-unavailable fails the call to that ID only', () => {
		const { actor, peer } = setup();
		actor.send({ type: 'signaling.peer', peer });
		actor.send({ type: 'call.dial', peerId: 'ghost' });
		const call = actor.getSnapshot().context.call!;
		actor.send({ type: 'signaling.peerUnavailable', peerId: 'someone-else' });
		expect(call.getSnapshot().status).toBe('active');
		actor.send({ type: 'signaling.peerUnavailable', peerId: 'ghost' });
		expect(call.getSnapshot().value).toBe('failed');
	});

	test('after a call ends, a new call can be placed (systemId reused) and dismiss clears it', () => {
		const { actor, peer } = setup();
		actor.send({ type: 'signaling.peer', peer });
		actor.send({ type: 'call.dial', peerId: 'a' });
		actor.getSnapshot().context.call!.send({ type: 'call.hangup' });
		actor.send({ type: 'call.dial', peerId: 'b' });
		expect(actor.system.get('call').getSnapshot().context.remoteId).toBe('b');
		actor.getSnapshot().context.call!.send({ type: 'call.hangup' });
		actor.send({ type: 'call.dismiss' });
		expect(actor.getSnapshot().context.call).toBeNull();
	});

	test('validatePeerId follows PeerJS ID rules', () => {
		expect(validatePeerId('abc-123_x y')).toEqual({ ok: true, id: 'abc-123_x y' });
		expect(validatePeerId('-abc').ok).toBe(false);
		expect(validatePeerId('a'.repeat(65))).toEqual({ ok: false, reason: 'tooLong' });
	});
});
