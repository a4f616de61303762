import { describe, expect, test, vi } from 'vitest';
import { createActor, createMachine, fromCallback, waitFor, type AnyActorRef } from 'xstate';
import { dialTarget, outcomeOf, sessionMachine, validatePeerId } from '$machines/session.machine';
import type { DataConnection, MediaConnection, Peer } from 'peerjs';
import type { PhotoOffer } from '$machines/actors/photo-offer';
import { callLoader, inertCall, videoStream } from './fakes';

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
			loadCallMachine: callLoader(inertCall({ sendDecline: () => {}, sendCancel: () => {} }))
		},
		actions: { rejectBusy }
	});
	const actor = createActor(machine).start();
	const peer = { disconnected: false, destroyed: false } as unknown as Peer;
	return { actor, log, rejectBusy, peer };
}

/** Children that do nothing (and a call machine that places nothing): for tests of the session's
 * own context and routing. */
const quietChildren = () => ({
	permission: createMachine({}) as never,
	capture: createMachine({}) as never,
	signaling: createMachine({}) as never,
	loadCallMachine: callLoader(inertCall({ sendDecline: () => {}, sendCancel: () => {} }))
});

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

	test('the camera hears whether a call needs it: from ringing or dialing until the call is over', () => {
		const heard: boolean[] = [];
		const capture = createMachine({
			id: 'capture',
			on: { 'camera.inCall': { actions: ({ event }) => heard.push(event.inCall === true) } }
		});
		const peer = { disconnected: false, destroyed: false } as unknown as Peer;
		const actor = createActor(
			sessionMachine.provide({
				actors: {
					permission: recorder('permission', []) as never,
					capture: capture as never,
					signaling: recorder('signaling', []) as never,
					loadCallMachine: callLoader(inertCall({ sendDecline: () => {}, sendCancel: () => {} }))
				},
				actions: { rejectBusy: () => {} }
			})
		).start();
		// No call at start.
		expect(heard).toEqual([false]);
		actor.send({ type: 'signaling.peer', peer });
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		expect(heard).toEqual([false, true]);
		const call = actor.getSnapshot().context.call!;
		call.send({ type: 'call.accept' });
		call.send({ type: 'media.signalingState', state: 'have-remote-offer' });
		call.send({ type: 'media.signalingState', state: 'stable' });
		call.send({ type: 'ice.connected' });
		expect(heard).toEqual([false, true]);
		call.send({ type: 'call.hangup' });
		expect(heard).toEqual([false, true, false]);
		// Dismissing the ended call's message changes nothing for the camera.
		actor.send({ type: 'call.dismiss' });
		expect(heard).toEqual([false, true, false]);
		actor.send({ type: 'call.dial', peerId: 'bob' });
		expect(heard).toEqual([false, true, false, true]);
		actor.getSnapshot().context.call!.send({ type: 'call.hangup' });
		expect(heard).toEqual([false, true, false, true, false]);
	});

	test('the camera waits out the call opening its microphone: told as setup begins (dial or accept), and when the step is over', () => {
		const heard: { type: string; stream?: unknown }[] = [];
		const capture = createMachine({
			id: 'capture',
			on: {
				'camera.micOpening': { actions: ({ event }) => heard.push(event) },
				'call.micOpened': { actions: ({ event }) => heard.push(event) }
			}
		});
		const camera = videoStream();
		const actor = createActor(
			sessionMachine.provide({
				actors: { ...quietChildren(), capture: capture as never },
				actions: { rejectBusy: () => {} }
			})
		).start();
		actor.send({ type: 'capture.live', stream: camera });
		actor.send({ type: 'signaling.peer', peer: { disconnected: false, destroyed: false } as unknown as Peer });
		// The inert call's microphone answers at once (none here): opening, then over, with the
		// camera stream the call sends.
		actor.send({ type: 'call.dial', peerId: 'bob' });
		expect(heard).toEqual([{ type: 'camera.micOpening' }, { type: 'call.micOpened', stream: camera }]);
		actor.getSnapshot().context.call!.send({ type: 'call.hangup' });
		heard.length = 0;
		// An incoming call: nothing while it rings, the same once accepted.
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		expect(heard).toEqual([]);
		actor.getSnapshot().context.call!.send({ type: 'call.accept' });
		expect(heard).toEqual([{ type: 'camera.micOpening' }, { type: 'call.micOpened', stream: camera }]);
	});

	test('a camera the call reopened with its microphone (WebKit) is passed to the capture machine as it is', () => {
		const reopened = videoStream('reopened');
		const captured: unknown[] = [];
		const capture = createMachine({ id: 'capture', on: { 'call.micOpened': { actions: ({ event }) => captured.push(event) } } });
		const actor = createActor(sessionMachine.provide({ actors: { ...quietChildren(), capture: capture as never } })).start();
		actor.send({ type: 'call.micOpened', stream: reopened });
		expect(captured).toEqual([{ type: 'call.micOpened', stream: reopened }]);
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

	test('chat connections go to the call only while one is under way (its chat decides); otherwise they are closed at once', () => {
		const refused: unknown[] = [];
		const { actor, peer } = setup();
		const machine = sessionMachine.provide({
			actors: {
				...quietChildren()
			},
			actions: { rejectBusy: () => {}, refuseChat: ({ event }) => void refused.push((event as { conn: unknown }).conn) }
		});
		actor.stop();
		const s = createActor(machine).start();
		const chat = (n: number) => ({ from: 'bob', conn: { n, close: () => {} } as unknown as DataConnection, offer: { callId: 'x' } });
		s.send({ type: 'signaling.chat', ...chat(1) });
		s.send({ type: 'signaling.peer', peer });
		s.send({ type: 'signaling.incomingCall', call: incoming('bob', 'c1') });
		s.send({ type: 'signaling.chat', ...chat(2) });
		expect(refused).toEqual([{ n: 1, close: expect.any(Function) }, { n: 2, close: expect.any(Function) }]);
		s.getSnapshot().context.call!.send({ type: 'call.accept' });
		expect(region(s)).toBe('{"active":"setup"}');
		s.send({ type: 'signaling.chat', ...chat(3) });
		expect(refused).toHaveLength(2);
		s.getSnapshot().context.call!.send({ type: 'call.hangup' });
		s.send({ type: 'signaling.chat', ...chat(4) });
		expect(refused.map((c) => (c as { n: number }).n)).toEqual([1, 2, 4]);
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

	test('after a call ends, a new call can be placed (systemId reused, the old actor stopped) and dismiss clears it', () => {
		const { actor, peer } = setup();
		actor.send({ type: 'signaling.peer', peer });
		actor.send({ type: 'call.dial', peerId: 'a' });
		const old = actor.getSnapshot().context.call!;
		old.send({ type: 'call.hangup' });
		expect(old.getSnapshot().status).toBe('done'); // shown until dismissed or replaced
		actor.send({ type: 'call.dial', peerId: 'b' });
		expect(actor.getSnapshot().children.call).toBe(actor.getSnapshot().context.call);
		expect(actor.getSnapshot().children.call).not.toBe(old);
		expect(actor.system.get('call').getSnapshot().context.remoteId).toBe('b');
		actor.getSnapshot().context.call!.send({ type: 'call.hangup' });
		actor.send({ type: 'call.dismiss' });
		expect(actor.getSnapshot().context.call).toBeNull();
		expect(actor.getSnapshot().children.call).toBeUndefined();
		expect(actor.system.get('call')).toBeUndefined();
	});

	test('a pasted share link dials the ID in it; your own ID is refused with its own reason', () => {
		const { actor } = setup();
		const me = { id: 'calm-otter-4821', disconnected: false, destroyed: false } as unknown as Peer;
		actor.send({ type: 'signaling.peer', peer: me });
		actor.send({ type: 'call.dial', peerId: ' https://cam.example/?call=calm-otter-4821 ' });
		expect(actor.getSnapshot().context.dialError).toBe('self');
		expect(actor.getSnapshot().context.call).toBeNull();
		actor.send({ type: 'call.dial', peerId: 'calm-otter-4821' });
		expect(actor.getSnapshot().context.dialError).toBe('self');
		actor.send({ type: 'call.dial', peerId: 'https://cam.example/?call=<b>x</b>' });
		expect(actor.getSnapshot().context.dialError).toBe('invalid');
		actor.send({ type: 'call.dial', peerId: 'http://192.168.1.20:8080/?call=%20brave-fox-0042&x=1' });
		expect(actor.getSnapshot().context.call!.getSnapshot().context.remoteId).toBe('brave-fox-0042');
	});

	test('dialTarget: links with ?call= give their ID; anything else is taken as typed', () => {
		expect(dialTarget('https://a.example/?call=wise-owl-1234')).toBe('wise-owl-1234');
		expect(dialTarget('HTTPS://a.example/x?y=1&call=wise-owl-1234#z')).toBe('wise-owl-1234');
		expect(dialTarget('https://a.example/')).toBe('https://a.example/');
		expect(dialTarget('https://a.example/?call=')).toBe('https://a.example/?call=');
		expect(dialTarget('https://[bad')).toBe('https://[bad');
		expect(dialTarget('  wise-owl-1234 ')).toBe('wise-owl-1234');
		expect(dialTarget('ftp://a.example/?call=x')).toBe('ftp://a.example/?call=x');
	});

	test('validatePeerId follows PeerJS ID rules', () => {
		expect(validatePeerId('abc-123_x y')).toEqual({ ok: true, id: 'abc-123_x y' });
		expect(validatePeerId('-abc').ok).toBe(false);
		// The whole ID must match, not a prefix: a valid start with junk after it is refused.
		expect(validatePeerId('abc-')).toEqual({ ok: false, reason: 'invalid' });
		expect(validatePeerId('abc<script>')).toEqual({ ok: false, reason: 'invalid' });
		expect(validatePeerId('a'.repeat(65))).toEqual({ ok: false, reason: 'tooLong' });
	});
});

const offer = (size = 3): PhotoOffer => ({ callId: 'call-1', name: 'x.png', size, type: 'image/png' });
const fakeConn = () => ({ peer: 'friend' }) as unknown as DataConnection;

/** A child stand-in that records what the session sends it. */
function eventRecorder(id: string, log: { to: string; event: Record<string, unknown> }[]) {
	return createMachine({
		id,
		on: { '*': { actions: ({ event }) => log.push({ to: id, event: event as Record<string, unknown> }) } }
	});
}

describe('session routes photos', () => {
	function session(load?: () => Promise<unknown>) {
		const log: { to: string; event: Record<string, unknown> }[] = [];
		const refusePhoto = vi.fn();
		let loads = 0;
		const machine = sessionMachine.provide({
			actors: {
				permission: eventRecorder('permission', log) as never,
				capture: eventRecorder('capture', log) as never,
				signaling: eventRecorder('signaling', log) as never,
				// A recorder stands in for the photo machine the real loader imports.
				loadPhotoMachine: fromCallback(({ sendBack }) => {
					loads++;
					(load ? load() : Promise.resolve(eventRecorder('photo', log))).then(
						(machine) => sendBack({ type: 'photo.machineLoaded', machine }),
						() => sendBack({ type: 'photo.machineFailed' })
					);
				}),
				loadCallMachine: callLoader(inertCall({ sendDecline: () => {}, sendCancel: () => {}, reportEnded: () => {} }))
			},
			actions: { refusePhoto, rejectBusy: () => {} }
		});
		const actor = createActor(machine).start();
		const toPhoto = () => log.filter((e) => e.to === 'photo').map((e) => e.event);
		const loaded = () => waitFor(actor, (s) => !!s.context.photo);
		return { actor, refusePhoto, toPhoto, loaded, loads: () => loads };
	}
	const sessionPeer = { disconnected: false, destroyed: false } as unknown as Peer;

	async function connectedCall(actor: ReturnType<typeof session>['actor']) {
		actor.send({ type: 'signaling.peer', peer: sessionPeer });
		actor.send({ type: 'signaling.incomingCall', call: { peer: 'friend', metadata: { callId: 'call-1' } } as unknown as MediaConnection });
		const call = actor.getSnapshot().context.call as AnyActorRef;
		call.send({ type: 'call.accept' });
		await waitFor(call, (s) => s.matches({ connecting: 'answering' }));
		call.send({ type: 'media.signalingState', state: 'have-remote-offer' });
		call.send({ type: 'media.signalingState', state: 'stable' });
		call.send({ type: 'ice.connected' });
		await waitFor(call, (s) => s.matches('connected'));
	}

	test('no photo machine until photos are needed; the first tap loads it once, then it gets the camera and the tap', async () => {
		const { actor, toPhoto, loaded, loads } = session();
		const stream = videoStream();
		actor.send({ type: 'capture.live', stream });
		expect(actor.getSnapshot().context.photo).toBeNull();
		expect(actor.system.get('photo')).toBeUndefined();
		actor.send({ type: 'photo.take' });
		actor.send({ type: 'photo.take' });
		expect(actor.getSnapshot().context.photoLoading).toBe(true);
		await loaded();
		expect(loads()).toBe(1);
		expect(actor.system.get('photo')).toBe(actor.getSnapshot().context.photo);
		expect(toPhoto()).toEqual([{ type: 'photo.stream', stream }, { type: 'photo.take' }, { type: 'photo.take' }]);
		expect(actor.getSnapshot().context.photoQueue).toEqual([]);
	});

	test('once loaded, camera changes reach it directly, the loss of the camera too', async () => {
		const { actor, toPhoto, loaded } = session();
		actor.send({ type: 'photo.load' });
		await loaded();
		const stream = videoStream();
		actor.send({ type: 'capture.live', stream });
		actor.send({ type: 'capture.failed', failure: { reason: 'no-camera', message: '' } });
		actor.send({ type: 'capture.failed', failure: { reason: 'permission-denied', message: '' } });
		expect(toPhoto()).toEqual([
			{ type: 'photo.stream', stream: null },
			{ type: 'photo.stream', stream },
			{ type: 'photo.stream', stream: null },
			{ type: 'photo.stream', stream: null }
		]);
	});

	test('a load that fails (offline, not cached) lets the next tap try again', async () => {
		let fail = true;
		const log: { to: string; event: Record<string, unknown> }[] = [];
		const { actor, loads } = session(async () => {
			if (fail) throw new Error('offline');
			return eventRecorder('photo', log);
		});
		actor.send({ type: 'photo.take' });
		await waitFor(actor, (s) => !s.context.photoLoading);
		expect(actor.getSnapshot().context).toMatchObject({ photo: null, photoQueue: [] });
		fail = false;
		actor.send({ type: 'photo.take' });
		await waitFor(actor, (s) => !!s.context.photo);
		expect(loads()).toBe(2);
		expect(log.map((e) => e.event.type)).toEqual(['photo.stream', 'photo.take']);
	});

	test('once loaded, the loader is gone and the views’ photo events go straight to the photo machine', async () => {
		const { actor, toPhoto, loaded } = session();
		actor.send({ type: 'photo.load' });
		expect(actor.getSnapshot().children.photoLoader).toBeDefined();
		await loaded();
		expect(actor.getSnapshot().context.photoLoading).toBe(false);
		expect(actor.getSnapshot().children.photoLoader).toBeUndefined();
		expect(actor.getSnapshot().children.photo).toBe(actor.getSnapshot().context.photo);
		actor.send({ type: 'photo.delete', id: 'p1' });
		actor.send({ type: 'photo.take' });
		expect(toPhoto().slice(1)).toEqual([{ type: 'photo.delete', id: 'p1' }, { type: 'photo.take' }]);
	});

	test('sendToPeer outside a call goes on without a peer; in a connected call it names the peer and call', async () => {
		const { actor, toPhoto, loaded } = session();
		actor.send({ type: 'photo.sendToPeer', photoId: 'p' });
		await loaded();
		expect(toPhoto().at(-1)).toEqual({ type: 'photo.send', photoId: 'p', peer: null, to: null, callId: null });
		await connectedCall(actor);
		actor.send({ type: 'photo.sendToPeer', photoId: 'p' });
		expect(toPhoto().at(-1)).toEqual({ type: 'photo.send', photoId: 'p', peer: sessionPeer, to: 'friend', callId: 'call-1' });
	});

	test('photo offers: only from the connected call’s peer naming that call (loading the machine if needed); others refused', async () => {
		const { actor, toPhoto, refusePhoto, loaded } = session();
		const conn = fakeConn();
		actor.send({ type: 'signaling.photo', from: 'friend', conn, offer: offer() });
		expect(refusePhoto).toHaveBeenCalledTimes(1); // no call yet
		expect(actor.getSnapshot().context.photoLoading).toBe(false);
		await connectedCall(actor);
		actor.send({ type: 'signaling.photo', from: 'stranger', conn, offer: offer() });
		actor.send({ type: 'signaling.photo', from: 'friend', conn, offer: { ...offer(), callId: 'old-call' } });
		expect(refusePhoto).toHaveBeenCalledTimes(3);
		actor.send({ type: 'signaling.photo', from: 'friend', conn, offer: offer() });
		await loaded();
		expect(toPhoto().filter((e) => e.type === 'photo.incoming')).toEqual([{ type: 'photo.incoming', conn, from: 'friend', offer: offer() }]);
	});

	test('an offer from the call’s own peer before the call is connected is refused and loads nothing', () => {
		const { actor, refusePhoto } = session();
		actor.send({ type: 'signaling.peer', peer: sessionPeer });
		actor.send({ type: 'signaling.incomingCall', call: { peer: 'friend', metadata: { callId: 'call-1' } } as unknown as MediaConnection });
		actor.send({ type: 'signaling.photo', from: 'friend', conn: fakeConn(), offer: offer() });
		expect(refusePhoto).toHaveBeenCalledTimes(1);
		expect(actor.getSnapshot().context.photoLoading).toBe(false);
		expect(actor.getSnapshot().children.photoLoader).toBeUndefined();
	});
});


describe('the call machine’s code arrives after start', () => {
	function lazy(outcome: () => 'load' | 'fail' | 'hold') {
		let loads = 0;
		let deliver: (() => void) | null = null;
		const preparing = { started: 0, stopped: 0 };
		const machine = sessionMachine.provide({
			actors: {
				permission: createMachine({}) as never,
				capture: createMachine({}) as never,
				signaling: createMachine({}) as never,
				loadCallMachine: fromCallback(({ sendBack }) => {
					loads++;
					const result = outcome();
					const send = () => sendBack(result === 'fail' ? { type: 'call.machineFailed' } : { type: 'call.machineLoaded', machine: inertCall() });
					if (result === 'hold') deliver = send;
					else send();
				}),
				prepareCalls: fromCallback(() => {
					preparing.started++;
					return () => preparing.stopped++;
				})
			},
			actions: { rejectBusy: () => {} }
		});
		const actor = createActor(machine).start();
		actor.send({ type: 'signaling.peer', peer: { id: 'me-1', disconnected: false, destroyed: false } as unknown as Peer });
		return { actor, loads: () => loads, deliver: () => deliver?.(), preparing };
	}

	test('once its code is here, what the first call would wait for loads ahead of it (once, for the life of the session)', () => {
		const t = lazy(() => 'hold');
		t.actor.send({ type: 'call.prefetch' });
		expect(t.preparing.started).toBe(0);
		t.deliver();
		expect(t.actor.getSnapshot().matches({ callCode: 'ready' })).toBe(true);
		expect(t.preparing).toEqual({ started: 1, stopped: 0 });
		t.actor.send({ type: 'call.dial', peerId: 'bob-1' });
		t.actor.send({ type: 'call.prefetch' });
		expect(t.preparing).toEqual({ started: 1, stopped: 0 });
		t.actor.stop();
		expect(t.preparing.stopped).toBe(1);
	});

	test('code that failed to load prepares nothing', () => {
		const t = lazy(() => 'fail');
		t.actor.send({ type: 'call.prefetch' });
		expect(t.actor.getSnapshot().matches({ callCode: 'absent' })).toBe(true);
		expect(t.preparing.started).toBe(0);
	});

	test('nothing loads at start; a prefetch loads it once; a dial and a call that came meanwhile are handled in order once it is here', () => {
		const t = lazy(() => 'hold');
		expect(t.loads()).toBe(0);
		expect(t.actor.getSnapshot().matches({ callCode: 'absent' })).toBe(true);
		t.actor.send({ type: 'call.prefetch' });
		t.actor.send({ type: 'call.prefetch' });
		expect(t.loads()).toBe(1);
		t.actor.send({ type: 'signaling.incomingCall', call: incoming('alice-1', 'c1') });
		t.actor.send({ type: 'call.dial', peerId: 'bob-1' });
		expect(t.actor.getSnapshot().context.call).toBeNull();
		expect(t.actor.getSnapshot().context.callQueue).toHaveLength(2);
		t.deliver();
		const { call, callQueue } = t.actor.getSnapshot().context;
		expect(callQueue).toEqual([]);
		// The call rang first; the dial then found a call ringing and was refused.
		expect(call!.getSnapshot().context).toMatchObject({ direction: 'incoming', remoteId: 'alice-1' });
		expect(t.actor.getSnapshot().matches({ call: 'ringing', callCode: 'ready' })).toBe(true);
	});

	test('a dial before any prefetch loads it and is placed; an invalid one is refused without loading', () => {
		const t = lazy(() => 'load');
		t.actor.send({ type: 'call.dial', peerId: '<x>' });
		expect(t.loads()).toBe(0);
		t.actor.send({ type: 'call.dial', peerId: 'bob-1' });
		expect(t.loads()).toBe(1);
		expect(t.actor.getSnapshot().context.call!.getSnapshot().context).toMatchObject({ direction: 'outgoing', remoteId: 'bob-1' });
		expect(t.actor.system.get('call')).toBe(t.actor.getSnapshot().context.call);
	});

	test('its code cannot load (offline, not cached): the dial says so, nothing waits, the next dial tries again', () => {
		let fail = true;
		const t = lazy(() => (fail ? 'fail' : 'load'));
		t.actor.send({ type: 'call.dial', peerId: 'bob-1' });
		expect(t.actor.getSnapshot().context).toMatchObject({ call: null, callQueue: [], dialError: 'notConnected' });
		expect(t.actor.getSnapshot().matches({ callCode: 'absent' })).toBe(true);
		fail = false;
		t.actor.send({ type: 'call.dial', peerId: 'bob-1' });
		expect(t.loads()).toBe(2);
		expect(t.actor.getSnapshot().context.call).not.toBeNull();
	});
});

describe('names, recents and contacts', () => {
	function named() {
		const saved = { name: [] as string[], recents: 0, contacts: 0 };
		const machine = sessionMachine.provide({
			actors: {
				...quietChildren()
			},
			actions: {
				persistName: ({ context }) => void saved.name.push(context.displayName),
				persistRecents: () => void saved.recents++,
				persistContacts: () => void saved.contacts++,
				rejectBusy: () => {}
			}
		});
		const actor = createActor(machine).start();
		actor.send({ type: 'signaling.peer', peer: { id: 'me-1', disconnected: false, destroyed: false } as unknown as Peer });
		return { actor, saved };
	}

	test('our name is cleaned, saved, and travels into each call we place or answer', () => {
		const { actor, saved } = named();
		actor.send({ type: 'profile.setName', name: '  Ana\u202E  ' });
		expect(actor.getSnapshot().context.displayName).toBe('Ana');
		expect(saved.name).toEqual(['Ana']);
		actor.send({ type: 'call.dial', peerId: 'bob-1' });
		expect(actor.getSnapshot().context.call!.getSnapshot().context.localName).toBe('Ana');
		actor.getSnapshot().context.call!.send({ type: 'call.hangup' });
		actor.send({ type: 'signaling.incomingCall', call: { peer: 'carol-1', metadata: { callId: 'c9', name: 'Carol\u0000 C' } } as unknown as MediaConnection });
		expect(actor.getSnapshot().context.call!.getSnapshot().context).toMatchObject({ localName: 'Ana', remoteName: 'Carol C' });
	});

	test('each call that ends joins the recents, newest first, with how it went; saved each time', () => {
		const { actor, saved } = named();
		actor.send({ type: 'signaling.incomingCall', call: { peer: 'carol-1', metadata: { callId: 'c1', name: 'Carol' } } as unknown as MediaConnection });
		actor.getSnapshot().context.call!.send({ type: 'call.decline' });
		actor.send({ type: 'call.dial', peerId: 'bob-1' });
		actor.getSnapshot().context.call!.send({ type: 'call.hangup' });
		actor.send({ type: 'signaling.incomingCall', call: { peer: 'dan-1', metadata: { callId: 'c3' } } as unknown as MediaConnection });
		actor.send({ type: 'signaling.control', from: 'dan-1', message: { type: 'cancel', callId: 'c3' } });
		actor.send({ type: 'signaling.incomingCall', call: { peer: 'eve-1', metadata: { callId: 'c4' } } as unknown as MediaConnection });
		const call = actor.getSnapshot().context.call!;
		call.send({ type: 'call.accept' });
		call.send({ type: 'media.signalingState', state: 'have-remote-offer' });
		call.send({ type: 'media.signalingState', state: 'stable' });
		call.send({ type: 'ice.connected' });
		call.send({ type: 'call.hangup' });
		const recents = actor.getSnapshot().context.recents;
		expect(recents.map((r) => [r.peerId, r.direction, r.outcome])).toEqual([
			['eve-1', 'in', 'answered'],
			['dan-1', 'in', 'missed'],
			['bob-1', 'out', 'cancelled'],
			['carol-1', 'in', 'declined']
		]);
		expect(recents[3].name).toBe('Carol');
		expect(recents[0].seconds).toBeGreaterThanOrEqual(0);
		expect(recents[1].seconds).toBeNull();
		expect(recents.every((r) => r.at > 0)).toBe(true);
		expect(saved.recents).toBe(4);
	});

	test('outcomes by end reason', () => {
		expect(outcomeOf('no-answer', false)).toBe('no-answer');
		expect(outcomeOf('busy', false)).toBe('busy');
		expect(outcomeOf('declined', false)).toBe('declined');
		expect(outcomeOf('missed-cancelled', false)).toBe('missed');
		expect(outcomeOf('peer-unavailable', false)).toBe('failed');
		expect(outcomeOf('connection-lost', true)).toBe('answered');
		expect(outcomeOf(undefined, false)).toBe('failed');
	});

	test('contacts: a nickname per valid ID; an empty nickname or remove forgets it', () => {
		const { actor, saved } = named();
		actor.send({ type: 'contacts.save', peerId: 'calm-otter-4821', nickname: ' Mum ' });
		actor.send({ type: 'contacts.save', peerId: '<b>bad</b>', nickname: 'x' });
		expect(actor.getSnapshot().context.contacts).toEqual({ 'calm-otter-4821': 'Mum' });
		actor.send({ type: 'contacts.save', peerId: 'calm-otter-4821', nickname: '   ' });
		expect(actor.getSnapshot().context.contacts).toEqual({});
		actor.send({ type: 'contacts.save', peerId: 'wise-owl-1', nickname: 'Owl' });
		actor.send({ type: 'contacts.remove', peerId: 'wise-owl-1' });
		expect(actor.getSnapshot().context.contacts).toEqual({});
		expect(saved.contacts).toBe(5);
	});
});

describe('session with its real photo loader and refusal', () => {
	test('the photo machine’s code is imported on first use and spawned as the photo actor', async () => {
		const machine = sessionMachine.provide({
			actors: {
				permission: createMachine({}) as never,
				capture: createMachine({}) as never,
				signaling: createMachine({}) as never
			}
		});
		const actor = createActor(machine).start();
		actor.send({ type: 'photo.load' });
		await waitFor(actor, (s) => s.matches({ photo: 'ready' }), { timeout: 5000 });
		const photo = actor.system.get('photo');
		expect(photo).toBe(actor.getSnapshot().context.photo);
		expect(photo.getSnapshot().machine.id).toBe('photo');
		actor.stop();
	});

	test('an offer from outside a connected call is answered "refuse" once its channel opens, then closed', async () => {
		const machine = sessionMachine.provide({
			actors: {
				permission: createMachine({}) as never,
				capture: createMachine({}) as never,
				signaling: createMachine({}) as never
			}
		});
		const actor = createActor(machine).start();
		const sent: unknown[] = [];
		const conn = { peer: 'stranger', open: true, send: (data: unknown) => sent.push(data), on: () => {}, close: vi.fn() } as unknown as DataConnection;
		actor.send({ type: 'signaling.photo', from: 'stranger', conn, offer: offer() });
		await vi.waitFor(() => expect(sent).toEqual([JSON.stringify({ t: 'refuse', why: 'invalid' })]));
		expect(actor.getSnapshot().context.photoLoading).toBe(false);
		actor.stop();
	});
});

describe('session machine: what reaches whom', () => {
	/** The session with its real actions; children are recorders, the call machine real. */
	function real() {
		const log: { to: string; event: Record<string, unknown> }[] = [];
		const connects: { to: string; metadata: unknown }[] = [];
		const peer = {
			disconnected: false,
			destroyed: false,
			connect: (to: string, options: { metadata: unknown }) => {
				connects.push({ to, metadata: options.metadata });
				return { on: () => {}, close: () => {} };
			}
		} as unknown as Peer;
		const machine = sessionMachine.provide({
			actors: {
				permission: eventRecorder('permission', log) as never,
				capture: eventRecorder('capture', log) as never,
				signaling: eventRecorder('signaling', log) as never,
				loadCallMachine: callLoader(inertCall())
			}
		});
		const actor = createActor(machine).start();
		actor.send({ type: 'signaling.peer', peer });
		return { actor, log, connects, peer };
	}
	const region = (actor: ReturnType<typeof real>['actor']) => JSON.stringify((actor.getSnapshot().value as { call: unknown }).call);

	test('a second call while ringing is refused with a busy control message to its caller, naming its call', () => {
		const { actor, connects } = real();
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		const second = { peer: 'bob', metadata: { callId: 'c2' }, close: vi.fn() } as unknown as MediaConnection;
		actor.send({ type: 'signaling.incomingCall', call: second });
		expect(connects).toEqual([{ to: 'bob', metadata: { control: { type: 'busy', callId: 'c2' } } }]);
		expect((second.close as ReturnType<typeof vi.fn>).mock.calls.length).toBe(1);
	});

	test('a call that comes while one is being set up, connected or recovering gets busy; the current call goes on', () => {
		const { actor, connects } = real();
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		const call = actor.getSnapshot().context.call!;
		call.send({ type: 'call.accept' });
		const busy = (from: string, callId: string) => {
			actor.send({ type: 'signaling.incomingCall', call: { ...incoming(from, callId), close: () => {} } as unknown as MediaConnection });
			expect(connects.at(-1)).toEqual({ to: from, metadata: { control: { type: 'busy', callId } } });
		};
		busy('bob', 'c2');
		expect(region(actor)).toBe('{"active":"setup"}');
		call.send({ type: 'media.signalingState', state: 'have-remote-offer' });
		call.send({ type: 'media.signalingState', state: 'stable' });
		call.send({ type: 'ice.connected' });
		busy('carol', 'c3');
		expect(region(actor)).toBe('{"active":"connected"}');
		call.send({ type: 'ice.stalled' });
		busy('dave', 'c4');
		expect(region(actor)).toBe('{"active":"recovering"}');
		expect(actor.getSnapshot().context.call).toBe(call);
		expect(connects).toHaveLength(3);
	});

	test('an incoming call carries its caller and callId into the call; one without a callId gets a fresh one', () => {
		const { actor } = real();
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		expect(actor.getSnapshot().context.call!.getSnapshot().context).toMatchObject({ direction: 'incoming', remoteId: 'alice', callId: 'c1' });
		actor.getSnapshot().context.call!.send({ type: 'call.decline' });
		actor.send({ type: 'signaling.incomingCall', call: { peer: 'bob', metadata: {} } as unknown as MediaConnection });
		expect(actor.getSnapshot().context.call!.getSnapshot().context.callId).toMatch(/^[0-9a-f]{18}$/);
	});

	test('the camera reaches permission, the call (replaceTrack) and the photo machine', async () => {
		const { actor, log } = real();
		actor.send({ type: 'call.dial', peerId: 'bob' });
		const stream = videoStream();
		actor.send({ type: 'capture.live', stream });
		expect(actor.getSnapshot().context.localStream).toBe(stream);
		expect(actor.getSnapshot().context.call!.getSnapshot().context.localStream).toBe(stream);
		expect(log.filter((e) => e.to === 'permission').map((e) => e.event)).toEqual([{ type: 'permission.observed', state: 'granted' }]);
		actor.send({ type: 'capture.failed', failure: { reason: 'permission-denied', message: '' } });
		actor.send({ type: 'capture.failed', failure: { reason: 'no-camera', message: '' } });
		expect(log.filter((e) => e.to === 'permission').map((e) => e.event.state)).toEqual(['granted', 'denied']);
	});

	test('a negotiation failure reaches the call with its message; an old call’s end does not move the chart', () => {
		const { actor } = real();
		actor.send({ type: 'call.dial', peerId: 'bob' });
		const call = actor.getSnapshot().context.call!;
		actor.send({ type: 'call.ended', callId: 'someone-else', failure: null });
		expect(region(actor)).toBe('{"active":"setup"}');
		actor.send({ type: 'signaling.webrtcError', message: 'createAnswer failed' });
		expect(call.getSnapshot().context.failure?.reason).toBe('negotiation-failed');
		expect(region(actor)).toBe('"free"');
	});

	test('dial errors: cleared by editing, refused while a call rings, IDs up to 64 characters', () => {
		const { actor } = real();
		actor.send({ type: 'call.dial', peerId: '!!' });
		expect(actor.getSnapshot().context.dialError).toBe('invalid');
		actor.send({ type: 'call.clearDialError' });
		expect(actor.getSnapshot().context.dialError).toBeNull();
		expect(validatePeerId('a'.repeat(64)).ok).toBe(true);
		actor.send({ type: 'signaling.incomingCall', call: incoming('alice', 'c1') });
		const ringing = actor.getSnapshot().context.call;
		actor.send({ type: 'call.dial', peerId: 'bob' });
		expect(actor.getSnapshot().context.call).toBe(ringing);
	});
});
