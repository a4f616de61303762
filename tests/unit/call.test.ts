import { describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, setup as xsetup, SimulatedClock } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { callMachine, type CallContext, type CallInput } from '$machines/call.machine';
import { parseCallMessage, type MediaCommand } from '$machines/actors/call';
import type { CallControlEvent, CallControlsState, MediaSessionUpdate } from '$machines/actors/device';
import { FakeStream, FakeTrack, inertCall, videoStream } from './fakes';

const pc = {} as RTCPeerConnection;

/**
 * The call machine with recording fakes in place of its actors: what it told the media
 * connection (commands), the microphone (opens, and whether it was stopped) and the ICE machine.
 */
function fakes() {
	const rec = {
		commands: [] as MediaCommand[],
		micOpens: 0,
		/** The camera each `mic.open` carried. */
		micCameras: [] as (MediaStream | null)[],
		micStopped: false,
		iceEvents: [] as string[],
		iceStopped: 0,
		phases: [] as string[],
		ended: 0,
		declines: 0,
		cancels: 0,
		cancelReasons: [] as string[],
		/** What the session heard of the microphone's request (for its capture machine). */
		micReports: [] as { type: string; stream: MediaStream | null }[],
		/** Alerts running now (ringtone while we ring, ringback while they do), and who rang. */
		alerts: { ring: 0, ringBack: 0, ringFrom: [] as string[] },
		/** Device actors running now, how often each started, and what the system's call
		 * controls were told (their input, then each update). */
		device: { wakeLock: 0, wakeLockStarts: 0, mediaSession: 0, controls: [] as CallControlsState[] },
		/** Presses on the system's call controls (hang up, microphone, camera). */
		press: (_e: CallControlEvent) => {},
		toMedia: (_e: { type: string; [k: string]: unknown }) => {},
		toCall: (_e: { type: string; [k: string]: unknown }) => {}
	};
	const machine = callMachine.provide({
		actors: {
			mediaCall: fromCallback(({ sendBack, receive }) => {
				rec.toMedia = sendBack as typeof rec.toMedia;
				receive((c) => rec.commands.push(c as MediaCommand));
				return () => {};
			}),
			microphone: fromCallback(({ sendBack, receive }) => {
				rec.toCall = sendBack as typeof rec.toCall;
				receive((c: { camera: MediaStream | null }) => {
					rec.micOpens++;
					rec.micCameras.push(c.camera);
				});
				return () => {
					rec.micStopped = true;
				};
			}),
			ice: fromCallback(({ receive }) => {
				receive((e) => rec.iceEvents.push(e.type));
				return () => {
					rec.iceStopped++;
				};
			}) as never,
			ring: fromCallback(({ input }: { input: { from: string } }) => {
				rec.alerts.ring++;
				rec.alerts.ringFrom.push(input.from);
				return () => void rec.alerts.ring--;
			}),
			ringBack: fromCallback(() => {
				rec.alerts.ringBack++;
				return () => void rec.alerts.ringBack--;
			}),
			wakeLock: fromCallback(() => {
				rec.device.wakeLock++;
				rec.device.wakeLockStarts++;
				return () => void rec.device.wakeLock--;
			}),
			mediaSession: fromCallback(({ input, sendBack, receive }: { input: CallControlsState; sendBack: (e: CallControlEvent) => void; receive: (l: (e: MediaSessionUpdate) => void) => void }) => {
				rec.device.mediaSession++;
				rec.device.controls.push(input);
				rec.press = sendBack;
				receive((e) => rec.device.controls.push(e.state));
				return () => void rec.device.mediaSession--;
			})
,
			// This device has no certificate here (as under Node); the extras never load.
			deviceCertificate: fromCallback(({ sendBack }) => sendBack({ type: 'certificate.none' })),
			callExtras: fromCallback(() => {})
		},
		actions: {
			sendDecline: () => void rec.declines++,
			sendCancel: (_: unknown, why: string) => {
				rec.cancels++;
				rec.cancelReasons.push(why);
			},
			reportEnded: () => void rec.ended++,
			reportPhase: (_: unknown, phase: string) => void rec.phases.push(phase),
			reportMicOpened: ({ context }: { context: CallContext }) => void rec.micReports.push({ type: 'call.micOpened', stream: context.localStream })
		}
	});
	return { rec, machine };
}

function setup(direction: 'outgoing' | 'incoming') {
	const { rec, machine } = fakes();
	const clock = new SimulatedClock();
	const input: CallInput = { direction, remoteId: 'far', callId: 'c1', peer: null, localStream: videoStream('front') };
	const actor = createActor(machine, { input, clock }).start();
	const micTrack = new FakeTrack('audio');
	return {
		actor,
		clock,
		rec,
		micTrack,
		path: () => pathOf(actor.getSnapshot().value),
		media: (e: { type: string; [k: string]: unknown }) => rec.toMedia(e),
		micReady: () => rec.toCall({ type: 'mic.ready', track: micTrack }),
		micUnavailable: () => rec.toCall({ type: 'mic.unavailable' }),
		count: (type: MediaCommand['type']) => rec.commands.filter((c) => c.type === type).length,
		reason: () => actor.getSnapshot().context.failure?.reason
	};
}
type T = ReturnType<typeof setup>;

function pathOf(value: unknown): string {
	if (typeof value === 'string') return value;
	const [key] = Object.keys(value as object);
	return `${key}.${pathOf((value as Record<string, unknown>)[key])}`;
}

/** The callee's answer goes out (the pc appears, remote offer, stable) and ICE connects. */
function answeredToConnected(t: { actor: { send: (e: { type: 'ice.connected' }) => void }; rec: { toMedia: (e: { type: string; [k: string]: unknown }) => void } }) {
	t.rec.toMedia({ type: 'media.pc', pc });
	t.rec.toMedia({ type: 'media.signalingState', state: 'have-remote-offer' });
	t.rec.toMedia({ type: 'media.signalingState', state: 'stable' });
	t.actor.send({ type: 'ice.connected' });
}

function connectOutgoing(t: T) {
	t.micReady();
	t.media({ type: 'media.pc', pc });
	t.media({ type: 'media.signalingState', state: 'have-local-offer' });
	t.media({ type: 'media.signalingState', state: 'stable' });
	t.actor.send({ type: 'ice.connected' });
	expect(t.path()).toBe('connected');
}

function connectIncoming(t: T) {
	t.actor.send({ type: 'call.accept' });
	t.micReady();
	t.media({ type: 'media.pc', pc });
	t.media({ type: 'media.signalingState', state: 'have-remote-offer' });
	t.media({ type: 'media.signalingState', state: 'stable' });
	t.actor.send({ type: 'ice.connected' });
	expect(t.path()).toBe('connected');
}

/** The call is over and let go of everything: one report, the pc closed, the mic stopped. */
function expectReleased(t: T) {
	expect(t.actor.getSnapshot().status).toBe('done');
	expect(t.rec.ended).toBe(1);
	expect(t.count('media.release')).toBe(1);
	expect(t.rec.micStopped).toBe(true);
	expect(t.rec.device).toMatchObject({ wakeLock: 0, mediaSession: 0 });
}

describe('call machine: outgoing', () => {
	test('mic first, then offer → have-local-offer → answer (stable) → ICE → connected, each step a state', () => {
		const t = setup('outgoing');
		expect(t.path()).toBe('calling.microphone');
		expect(t.rec.micOpens).toBe(1);
		expect(t.rec.commands).toEqual([]);
		t.micReady();
		expect(t.path()).toBe('calling.offering');
		expect(t.count('media.dial')).toBe(1);
		// The outgoing stream: camera video + the call's microphone.
		const dial = t.rec.commands[0] as Extract<MediaCommand, { type: 'media.dial' }>;
		expect(dial.stream.getTracks().map((tr) => tr.kind).sort()).toEqual(['audio', 'video']);
		t.media({ type: 'media.pc', pc });
		// A new pc's initial `stable` is not the answer.
		t.media({ type: 'media.signalingState', state: 'stable' });
		expect(t.path()).toBe('calling.offering');
		t.media({ type: 'media.signalingState', state: 'have-local-offer' });
		expect(t.path()).toBe('calling.haveLocalOffer');
		t.media({ type: 'media.signalingState', state: 'stable' });
		expect(t.path()).toBe('connecting.ice');
		t.actor.send({ type: 'ice.connected' });
		expect(t.path()).toBe('connected');
		expect(t.rec.phases).toEqual(['setup', 'setup', 'connected']);
		expect(t.count('media.dial')).toBe(1);
	});

	test.each([
		['decline', 'declined'],
		['busy', 'busy']
	] as const)('the far side answers %s → ended %s, everything released', (type, reason) => {
		const t = setup('outgoing');
		t.micReady();
		t.actor.send({ type: 'call.control', message: { type, callId: 'c1' } });
		expect(t.path()).toBe('ended');
		expect(t.reason()).toBe(reason);
		expectReleased(t);
	});

	test('unknown ID → failed peer-unavailable', () => {
		const t = setup('outgoing');
		t.micReady();
		t.actor.send({ type: 'call.peerUnavailable' });
		expect(t.path()).toBe('failed');
		expect(t.reason()).toBe('peer-unavailable');
		expectReleased(t);
	});

	test('the ringtone runs exactly while we ring (named by the caller), the ringback while they ring', () => {
		const callee = setup('incoming');
		expect(callee.rec.alerts).toMatchObject({ ring: 1, ringBack: 0 });
		expect(callee.rec.alerts.ringFrom).toEqual([callee.actor.getSnapshot().context.remoteId]);
		callee.actor.send({ type: 'call.accept' });
		expect(callee.rec.alerts.ring).toBe(0);
		const declined = setup('incoming');
		declined.actor.send({ type: 'call.decline' });
		expect(declined.rec.alerts.ring).toBe(0);
		// The ringback starts once the offer is out (the far side can ring only then), not while
		// the microphone opens and the offer is made.
		const caller = setup('outgoing');
		expect(caller.rec.alerts).toMatchObject({ ring: 0, ringBack: 0 });
		caller.micReady();
		caller.media({ type: 'media.pc', pc });
		expect(caller.rec.alerts.ringBack).toBe(0);
		caller.media({ type: 'media.signalingState', state: 'have-local-offer' });
		expect(caller.rec.alerts.ringBack).toBe(1);
		caller.actor.send({ type: 'call.hangup' });
		expect(caller.rec.alerts.ringBack).toBe(0);
		// Until the answer arrives.
		const answered = setup('outgoing');
		answered.micReady();
		answered.media({ type: 'media.pc', pc });
		answered.media({ type: 'media.signalingState', state: 'have-local-offer' });
		expect(answered.rec.alerts.ringBack).toBe(1);
		answered.media({ type: 'media.signalingState', state: 'stable' });
		expect(answered.rec.alerts).toMatchObject({ ring: 0, ringBack: 0 });
	});

	test('the ringtone (and its notification) names the caller by the name they gave, else by ID', () => {
		const { rec, machine } = fakes();
		const incoming = { metadata: { callId: 'c1', name: ' Ana\u202E ' } } as unknown as NonNullable<CallInput['incoming']>;
		createActor(machine, { input: { direction: 'incoming', remoteId: 'far', callId: 'c1', peer: null, localStream: null, incoming } }).start();
		expect(rec.alerts.ringFrom).toEqual(['Ana']);
	});

	test('nobody answers within ringTimeout → ended no-answer, and the callee is told once', () => {
		const t = setup('outgoing');
		t.micReady();
		t.clock.increment(29_999);
		expect(t.path()).toBe('calling.offering');
		t.clock.increment(1);
		expect(t.reason()).toBe('no-answer');
		expect(t.rec.cancelReasons).toEqual(['timeout']);
		expectReleased(t);
	});

	test('hanging up while the microphone is still opening: ended, the mic actor stopped, the far side told', () => {
		const t = setup('outgoing');
		expect(t.path()).toBe('calling.microphone');
		t.actor.send({ type: 'call.hangup' });
		expect(t.reason()).toBe('hung-up');
		expect(t.rec.cancelReasons).toEqual(['hangup']);
		expect(t.count('media.dial')).toBe(0);
		expectReleased(t);
	});

	test('the microphone is asked for with the camera the call has; the capture machine hears once when that step is over', () => {
		const t = setup('outgoing');
		const camera = t.actor.getSnapshot().context.localStream;
		expect(t.rec.micCameras).toEqual([camera]);
		expect(t.rec.micReports).toEqual([]);
		t.micReady();
		// No camera came with the microphone (not WebKit): the call keeps the capture's own.
		expect(t.rec.micReports).toEqual([{ type: 'call.micOpened', stream: camera }]);
		expect((t.rec.commands[0] as Extract<MediaCommand, { type: 'media.dial' }>).stream.getVideoTracks()).toEqual(camera!.getVideoTracks());
	});

	test('WebKit: the camera reopened with the microphone is what the offer sends, and what the capture machine is told to keep', () => {
		const t = setup('outgoing');
		const old = t.actor.getSnapshot().context.localStream!;
		const reopened = new FakeStream([new FakeTrack('video', 'reopened')]) as unknown as MediaStream;
		t.rec.toCall({ type: 'mic.ready', track: t.micTrack, camera: reopened });
		expect(t.actor.getSnapshot().context.localStream).toBe(reopened);
		const dial = t.rec.commands[0] as Extract<MediaCommand, { type: 'media.dial' }>;
		expect(dial.stream.getTracks()).toEqual([...reopened.getVideoTracks(), t.micTrack]);
		expect(dial.stream.getTracks()).not.toContain(old.getVideoTracks()[0]);
		expect(t.rec.micReports).toEqual([{ type: 'call.micOpened', stream: reopened }]);
	});

	test('hung up while the microphone opens: the capture machine is still told the step is over (it stops waiting)', () => {
		const t = setup('outgoing');
		t.actor.send({ type: 'call.hangup' });
		expect(t.rec.micReports).toEqual([{ type: 'call.micOpened', stream: t.actor.getSnapshot().context.localStream }]);
	});

	test('the callee, on WebKit: accept → the answer sends the reopened camera; the capture machine is told', () => {
		const t = setup('incoming');
		expect(t.rec.micCameras).toEqual([]);
		t.actor.send({ type: 'call.accept' });
		expect(t.rec.micCameras).toEqual([t.actor.getSnapshot().context.localStream]);
		const reopened = new FakeStream([new FakeTrack('video', 'reopened')]) as unknown as MediaStream;
		t.rec.toCall({ type: 'mic.ready', track: t.micTrack, camera: reopened });
		const answer = t.rec.commands.find((c) => c.type === 'media.answer') as Extract<MediaCommand, { type: 'media.answer' }>;
		expect(answer.stream.getTracks()).toEqual([...reopened.getVideoTracks(), t.micTrack]);
		expect(t.rec.micReports).toEqual([{ type: 'call.micOpened', stream: reopened }]);
	});

	test('no microphone: the call goes on with video only', () => {
		const t = setup('outgoing');
		t.micUnavailable();
		expect(t.actor.getSnapshot().context.micAvailable).toBe(false);
		const dial = t.rec.commands[0] as Extract<MediaCommand, { type: 'media.dial' }>;
		expect(dial.stream.getTracks().map((tr) => tr.kind)).toEqual(['video']);
	});

	test('flip replaces the video track (no new offer); mute disables the mic; camera off leaves the camera alone', () => {
		const t = setup('outgoing');
		connectOutgoing(t);
		const back = videoStream('back');
		t.actor.send({ type: 'call.localStream', stream: back });
		expect(t.rec.commands.at(-1)).toEqual({ type: 'media.replaceTrack', track: back.getVideoTracks()[0] });
		t.actor.send({ type: 'call.toggleMic' });
		expect(t.micTrack.enabled).toBe(false);
		expect(t.rec.commands.at(-1)).toEqual({ type: 'media.mic', muted: true });
		t.actor.send({ type: 'call.toggleCamera' });
		expect(t.rec.commands.at(-1)).toEqual({ type: 'media.camera', off: true });
		// The preview and the shutter keep a working camera.
		expect(back.getVideoTracks()[0].enabled).toBe(true);
		t.actor.send({ type: 'call.toggleCamera' });
		expect(t.rec.commands.at(-1)).toEqual({ type: 'media.camera', off: false });
		expect(t.count('media.dial')).toBe(1);
		t.actor.send({ type: 'call.hangup' });
		expectReleased(t);
	});

	test('the far side hangs up → ended remote-hung-up', () => {
		const t = setup('outgoing');
		connectOutgoing(t);
		t.media({ type: 'media.closed' });
		expect(t.reason()).toBe('remote-hung-up');
		expectReleased(t);
	});

	test('a negotiation failure PeerJS reports during set-up fails the call; once connected it does not', () => {
		const t = setup('outgoing');
		t.micReady();
		t.actor.send({ type: 'call.webrtcError', message: 'setRemoteDescription failed' });
		expect(t.path()).toBe('failed');
		expect(t.reason()).toBe('negotiation-failed');
		expectReleased(t);
		const u = setup('outgoing');
		connectOutgoing(u);
		u.actor.send({ type: 'call.webrtcError', message: 'addIceCandidate failed' });
		expect(u.path()).toBe('connected');
	});

	test('the callee’s name, said on the call’s data channel, is cleaned into the context; connectedAt is set once', () => {
		const t = setup('outgoing');
		connectOutgoing(t);
		const at = t.actor.getSnapshot().context.connectedAt;
		expect(at).toBeGreaterThan(0);
		t.media({ type: 'media.remoteName', name: 'Bo\u202Eb  B ' });
		expect(t.actor.getSnapshot().context.remoteName).toBe('Bob B');
		t.actor.send({ type: 'ice.stalled' });
		t.actor.send({ type: 'ice.connected' });
		expect(t.actor.getSnapshot().context.connectedAt).toBe(at);
	});

	test('endedAt: unset while the call runs, stamped when it ends, hang-up or failure', () => {
		vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
		try {
			const t = setup('outgoing');
			connectOutgoing(t);
			expect(t.actor.getSnapshot().context.endedAt).toBeNull();
			vi.setSystemTime(1_134_000);
			t.actor.send({ type: 'call.hangup' });
			expect(t.actor.getSnapshot().context.endedAt).toBe(1_134_000);
			const u = setup('outgoing');
			u.micReady();
			vi.setSystemTime(1_200_000);
			u.actor.send({ type: 'call.webrtcError', message: 'setRemoteDescription failed' });
			expect(u.actor.getSnapshot().context.endedAt).toBe(1_200_000);
		} finally {
			vi.useRealTimers();
		}
	});

	test('the in-call protocol: heartbeat, camera, mic and name messages; anything else is ignored', () => {
		expect(parseCallMessage('{"t":"alive"}')).toEqual({ t: 'alive' });
		expect(parseCallMessage('{"t":"cam","off":true}')).toEqual({ t: 'cam', off: true });
		expect(parseCallMessage('{"t":"mic","muted":false}')).toEqual({ t: 'mic', muted: false });
		expect(parseCallMessage('{"t":"name","name":"Ana"}')).toEqual({ t: 'name', name: 'Ana' });
		expect(parseCallMessage('{"t":"name","name":7}')).toBeNull();
		expect(parseCallMessage('{"t":"cam","off":"yes"}')).toBeNull();
		expect(parseCallMessage(JSON.stringify({ t: 'name', name: 'x'.repeat(300) }))).toBeNull();
		expect(parseCallMessage('not json')).toBeNull();
		expect(parseCallMessage(new ArrayBuffer(4))).toBeNull();
	});

	test('the far side’s heartbeat and camera notice reach the ICE machine and the context', () => {
		const t = setup('outgoing');
		connectOutgoing(t);
		t.media({ type: 'media.alive' });
		expect(t.rec.iceEvents).toEqual(['ice.peerAlive']);
		t.media({ type: 'media.remoteCamera', off: true });
		expect(t.actor.getSnapshot().context.remoteCameraOff).toBe(true);
		t.actor.send({ type: 'call.hangup' });
		// The pc is closed first, so the ICE machine's `closed` is real.
		expect(t.rec.iceEvents.at(-1)).toBe('ice.close');
		expect(t.rec.commands.slice(-2)).toEqual([{ type: 'media.close' }, { type: 'media.release' }]);
	});

	test('media stall → recovering; media flows again → connected without a re-dial', () => {
		const t = setup('outgoing');
		connectOutgoing(t);
		t.actor.send({ type: 'ice.stalled' });
		expect(t.path()).toBe('recovering.waiting');
		t.actor.send({ type: 'ice.resumed' });
		expect(t.path()).toBe('connected');
		expect(t.count('media.redial')).toBe(0);
		expect(t.rec.phases.slice(-2)).toEqual(['recovering', 'connected']);
	});

	test('caller: still down after recoverGrace → re-dial through its own offer states; the new path connects', () => {
		const t = setup('outgoing');
		connectOutgoing(t);
		t.actor.send({ type: 'ice.disconnected' });
		t.clock.increment(4999);
		expect(t.path()).toBe('recovering.waiting');
		t.clock.increment(1);
		expect(t.path()).toBe('recovering.redialing.offering');
		expect(t.count('media.redial')).toBe(1);
		expect(t.actor.getSnapshot().context.recoveries).toBe(1);
		// The old connection's close arriving late does not end the call.
		t.media({ type: 'media.closed' });
		expect(t.path()).toBe('recovering.waiting');
		t.clock.increment(5000);
		expect(t.count('media.redial')).toBe(2);
		t.media({ type: 'media.pc', pc });
		t.media({ type: 'media.signalingState', state: 'have-local-offer' });
		expect(t.path()).toBe('recovering.redialing.haveLocalOffer');
		// A re-dial is not a new call: no ringback.
		expect(t.rec.alerts.ringBack).toBe(0);
		t.media({ type: 'media.signalingState', state: 'stable' });
		expect(t.path()).toBe('recovering.redialing.ice');
		t.actor.send({ type: 'ice.connected' });
		expect(t.path()).toBe('connected');
	});

	test('caller: exactly recoveryLimit (2) re-dials, then connection-lost at the deadline (15 s after the loss)', () => {
		const t = setup('outgoing');
		connectOutgoing(t);
		t.actor.send({ type: 'ice.stalled' });
		t.clock.increment(5000);
		expect(t.count('media.redial')).toBe(1);
		t.clock.increment(5000);
		expect(t.count('media.redial')).toBe(2);
		t.clock.increment(4999);
		expect(t.path()).toBe('recovering.redialing.offering');
		t.clock.increment(1);
		expect(t.reason()).toBe('connection-lost');
		expect(t.count('media.redial')).toBe(2);
		expectReleased(t);
	});

	test('the far side vanished from signaling during recovery → ended connection-lost at once', () => {
		const t = setup('outgoing');
		connectOutgoing(t);
		t.actor.send({ type: 'ice.stalled' });
		t.clock.increment(5000);
		t.actor.send({ type: 'call.peerUnavailable' });
		expect(t.reason()).toBe('connection-lost');
	});

	test('ICE fails outright, before or after connecting → the call ends, released', () => {
		const t = setup('outgoing');
		t.micReady();
		t.actor.send({ type: 'ice.failed' });
		expect(t.path()).toBe('failed');
		expectReleased(t);
		const u = setup('outgoing');
		connectOutgoing(u);
		u.actor.send({ type: 'ice.failed' });
		expect(u.path()).toBe('ended');
		expect(u.reason()).toBe('connection-lost');
	});

	test('a media error → failed media-error', () => {
		const t = setup('outgoing');
		t.micReady();
		t.media({ type: 'media.error', message: 'boom' });
		expect(t.path()).toBe('failed');
		expect(t.reason()).toBe('media-error');
		expectReleased(t);
	});
});

describe('call machine: what the device does during a call', () => {
	test('the screen stays on from answer to hang-up, through recovery; the system call controls from dial to hang-up', () => {
		const t = setup('outgoing');
		expect(t.rec.device).toMatchObject({ wakeLock: 0, mediaSession: 1 });
		connectOutgoing(t);
		expect(t.rec.device).toMatchObject({ wakeLock: 1, mediaSession: 1 });
		t.actor.send({ type: 'ice.stalled' });
		expect(t.path()).toBe('recovering.waiting');
		expect(t.rec.device).toMatchObject({ wakeLock: 1, mediaSession: 1 });
		t.actor.send({ type: 'ice.resumed' });
		expect(t.rec.device).toMatchObject({ wakeLock: 1, mediaSession: 1 });
		t.actor.send({ type: 'call.hangup' });
		expect(t.rec.device).toMatchObject({ wakeLock: 0, mediaSession: 0 });
	});

	test('a call that rings and is declined never holds the screen or the system controls', () => {
		const t = setup('incoming');
		expect(t.rec.device).toMatchObject({ wakeLock: 0, mediaSession: 0 });
		t.actor.send({ type: 'call.decline' });
		expect(t.rec.device).toMatchObject({ wakeLockStarts: 0, mediaSession: 0 });
	});

	test('presses on the system call controls act as the buttons do, and the controls hear the new state', () => {
		const t = setup('incoming');
		connectIncoming(t);
		expect(t.rec.device.controls.at(-1)).toEqual({ micMuted: false, cameraOff: false, micAvailable: true });
		t.rec.press({ type: 'call.toggleMic' });
		expect(t.actor.getSnapshot().context.micMuted).toBe(true);
		expect(t.micTrack.enabled).toBe(false);
		expect(t.rec.device.controls.at(-1)).toEqual({ micMuted: true, cameraOff: false, micAvailable: true });
		t.rec.press({ type: 'call.toggleCamera' });
		expect(t.count('media.camera')).toBe(1);
		expect(t.rec.device.controls.at(-1)).toEqual({ micMuted: true, cameraOff: true, micAvailable: true });
		t.rec.press({ type: 'call.hangup' });
		expect(t.path()).toBe('ended');
		expect(t.reason()).toBe('hung-up');
		expectReleased(t);
	});

	test('no microphone: the system call controls are told, so they offer none', () => {
		const t = setup('outgoing');
		t.micUnavailable();
		expect(t.rec.device.controls.at(-1)).toEqual({ micMuted: false, cameraOff: false, micAvailable: false });
	});
});

describe('call machine: incoming', () => {
	test('rings and never answers by itself: no microphone, nothing sent', () => {
		const t = setup('incoming');
		expect(t.path()).toBe('ringing');
		t.clock.increment(10_000);
		expect(t.path()).toBe('ringing');
		expect(t.rec.commands).toEqual([]);
		expect(t.rec.micOpens).toBe(0);
		expect(t.rec.phases).toEqual(['ringing']);
	});

	test('accept → mic → answer → have-remote-offer → stable → ICE → connected, each step a state', () => {
		const t = setup('incoming');
		t.actor.send({ type: 'call.accept' });
		expect(t.path()).toBe('connecting.microphone');
		expect(t.rec.micOpens).toBe(1);
		expect(t.count('media.answer')).toBe(0);
		t.micReady();
		expect(t.path()).toBe('connecting.answering');
		expect(t.count('media.answer')).toBe(1);
		t.media({ type: 'media.pc', pc });
		// The new pc's initial `stable` (reported before PeerJS sets the offer) is not the answer.
		t.media({ type: 'media.signalingState', state: 'stable' });
		expect(t.path()).toBe('connecting.answering');
		t.media({ type: 'media.signalingState', state: 'have-remote-offer' });
		expect(t.path()).toBe('connecting.haveRemoteOffer');
		t.media({ type: 'media.signalingState', state: 'stable' });
		expect(t.path()).toBe('connecting.ice');
		t.actor.send({ type: 'ice.connected' });
		expect(t.path()).toBe('connected');
	});

	test('decline tells the caller once and ends as declined by me', () => {
		const t = setup('incoming');
		t.actor.send({ type: 'call.decline' });
		expect(t.reason()).toBe('declined-by-me');
		expect(t.rec.declines).toBe(1);
		expectReleased(t);
	});

	test('the caller gives up while ringing → a missed call that says why: they hung up, or nobody answered in time', () => {
		const t = setup('incoming');
		t.actor.send({ type: 'call.control', message: { type: 'cancel', callId: 'c1' } });
		expect(t.reason()).toBe('missed-cancelled');
		const late = setup('incoming');
		late.actor.send({ type: 'call.control', message: { type: 'cancel', callId: 'c1', why: 'timeout' } });
		expect(late.reason()).toBe('missed');
	});

	test('the caller cancels while our microphone opens after Accept → ended, mic stopped, no answer sent', () => {
		const t = setup('incoming');
		t.actor.send({ type: 'call.accept' });
		t.actor.send({ type: 'call.control', message: { type: 'cancel', callId: 'c1' } });
		expect(t.reason()).toBe('remote-hung-up');
		expect(t.count('media.answer')).toBe(0);
		expectReleased(t);
	});

	test('hanging up before our answer went out tells the caller (it is still ringing)', () => {
		const t = setup('incoming');
		t.actor.send({ type: 'call.accept' });
		t.actor.send({ type: 'call.hangup' });
		expect(t.rec.declines).toBe(1);
		expectReleased(t);
	});

	test('accepted but no path within connectTimeout → failed connection-failed, released', () => {
		const t = setup('incoming');
		t.actor.send({ type: 'call.accept' });
		t.micReady();
		t.clock.increment(19_999);
		expect(t.path()).toBe('connecting.answering');
		t.clock.increment(1);
		expect(t.reason()).toBe('connection-failed');
		expectReleased(t);
	});

	test("recovery: waits for the caller's re-dial and adopts it through its own answer states", () => {
		const t = setup('incoming');
		connectIncoming(t);
		t.actor.send({ type: 'ice.stalled' });
		t.clock.increment(5000);
		expect(t.path()).toBe('recovering.awaitingRedial');
		const redial = { peer: 'far', metadata: { callId: 'c1' } } as unknown as import('peerjs').MediaConnection;
		t.actor.send({ type: 'call.redial', call: redial });
		expect(t.path()).toBe('recovering.adopting.answering');
		expect(t.rec.commands.at(-1)).toMatchObject({ type: 'media.adopt', call: redial });
		t.media({ type: 'media.pc', pc });
		t.media({ type: 'media.signalingState', state: 'have-remote-offer' });
		expect(t.path()).toBe('recovering.adopting.haveRemoteOffer');
		t.media({ type: 'media.signalingState', state: 'stable' });
		t.actor.send({ type: 'ice.connected' });
		expect(t.path()).toBe('connected');
	});

	test('one-sided stall: the caller re-dials while we still think we are connected → adopted, not "hung up"', () => {
		const t = setup('incoming');
		connectIncoming(t);
		const redial = { peer: 'far', metadata: { callId: 'c1' } } as unknown as import('peerjs').MediaConnection;
		t.actor.send({ type: 'call.redial', call: redial });
		expect(t.path()).toBe('recovering.adopting.answering');
		expect(t.count('media.adopt')).toBe(1);
		expect(t.rec.ended).toBe(0);
	});

	test('recovery: no re-dial arrives → ended connection-lost by the deadline', () => {
		const t = setup('incoming');
		connectIncoming(t);
		t.actor.send({ type: 'ice.disconnected' });
		t.clock.increment(14_999);
		expect(t.path()).toBe('recovering.awaitingRedial');
		t.clock.increment(1);
		expect(t.reason()).toBe('connection-lost');
		expectReleased(t);
	});

	test('unanswered for ringTimeout → missed', () => {
		const t = setup('incoming');
		t.clock.increment(30_000);
		expect(t.reason()).toBe('missed');
		expect(t.rec.micOpens).toBe(0);
	});
});

/**
 * Model-based: every shortest path through the chart (xstate/graph) over these events, replayed
 * on the real actor with recording fakes; after every step the system must satisfy what the
 * state it is in promises, whatever the path that led there.
 */
describe('call machine: what each state promises, on every path', () => {
	const events = [
		{ type: 'mic.ready', track: new FakeTrack('audio') },
		{ type: 'mic.unavailable' },
		{ type: 'media.signalingState', state: 'have-local-offer' },
		{ type: 'media.signalingState', state: 'have-remote-offer' },
		{ type: 'media.signalingState', state: 'stable' },
		{ type: 'media.closed' },
		{ type: 'media.error', message: 'x' },
		{ type: 'certificate.none' },
		{ type: 'call.accept' },
		{ type: 'call.decline' },
		{ type: 'call.hangup' },
		{ type: 'call.control', message: { type: 'decline', callId: 'c1' } },
		{ type: 'call.control', message: { type: 'cancel', callId: 'c1' } },
		{ type: 'call.peerUnavailable' },
		{ type: 'call.webrtcError', message: 'x' },
		{ type: 'ice.connected' },
		{ type: 'ice.stalled' },
		{ type: 'ice.resumed' },
		{ type: 'ice.failed' },
		{ type: 'call.redial', call: { peer: 'far' } },
		{ type: 'xstate.after.recoverGrace.call.recovering.waiting' },
		{ type: 'xstate.after.recoverGrace.call.recovering.redialing' },
		{ type: 'xstate.after.recoveryDeadline.call.recovering' },
		{ type: 'xstate.after.ringTimeout.call.calling' },
		{ type: 'xstate.after.ringTimeout.call.ringing' },
		{ type: 'xstate.after.connectTimeout.call.connecting' }
	];

	function check(path: string, t: { rec: ReturnType<typeof fakes>['rec']; status: string }) {
		const { rec } = t;
		const n = (type: string) => rec.commands.filter((c) => c.type === type).length;
		expect(rec.ended, path).toBeLessThanOrEqual(1);
		// The capture machine, which waits out the microphone's request, hears once that it is
		// over, whatever ended it: never while it runs, never twice.
		expect(rec.micReports.length, path).toBe(path.endsWith('microphone') ? 0 : rec.micOpens);
		if (path === 'ringing') {
			expect(rec.commands, path).toEqual([]);
			expect(rec.micOpens, path).toBe(0);
			expect(rec.declines + rec.cancels, path).toBe(0);
		}
		if (path.startsWith('calling.')) {
			expect(rec.micOpens, path).toBe(1);
			expect(n('media.answer') + n('media.adopt'), path).toBe(0);
			expect(n('media.dial'), path).toBe(path === 'calling.microphone' ? 0 : 1);
		}
		if (path.startsWith('connecting.')) {
			expect(rec.micOpens, path).toBe(1);
			const answered = path === 'connecting.microphone' ? 0 : 1;
			expect(n('media.dial') + n('media.answer'), path).toBe(path === 'connecting.ice' ? 1 : answered);
		}
		if (path === 'connected') {
			expect(n('media.dial') + n('media.answer'), path).toBe(1);
			expect(rec.ended, path).toBe(0);
		}
		// The screen stays on from answer to the end; the system's call controls from dial to the end.
		const answered = /^(connecting|connected|recovering)\b/.test(path);
		expect(rec.device.wakeLock, path).toBe(answered ? 1 : 0);
		expect(rec.device.mediaSession, path).toBe(answered || path.startsWith('calling.') ? 1 : 0);
		if (path.startsWith('recovering.redialing')) expect(n('media.redial'), path).toBeGreaterThan(0);
		if (path.startsWith('recovering.adopting')) expect(n('media.adopt'), path).toBeGreaterThan(0);
		if (path === 'ended' || path === 'failed') {
			expect(t.status, path).toBe('done');
			expect(rec.ended, path).toBe(1);
			expect(rec.micStopped, path).toBe(true);
			expect(n('media.release'), path).toBe(1);
			expect(rec.commands.at(-1)?.type, path).toBe('media.release');
		} else {
			expect(rec.micStopped, path).toBe(false);
			expect(n('media.release'), path).toBe(0);
		}
	}

	test.each(['outgoing', 'incoming'] as const)('%s', (direction) => {
		const input: CallInput = { direction, remoteId: 'far', callId: 'c1', peer: null, localStream: videoStream() };
		const paths = getShortestPaths(fakes().machine, {
			events: events as never,
			input: input as never,
			// The offer (or answer) waits for the microphone and the certificate, in either order.
			serializeState: (s) => {
				const { recoveries, micSettled, certificateSettled } = (s as { context: CallContext }).context;
				return JSON.stringify([(s as { value: unknown }).value, recoveries, micSettled, certificateSettled]);
			}
		});
		const visited = new Set<string>();
		for (const p of paths) {
			const { rec, machine } = fakes();
			const actor = createActor(machine, { input }).start();
			for (const step of p.steps) {
				if ((step.event.type as string) !== 'xstate.init') actor.send(step.event);
				const path = pathOf(actor.getSnapshot().value);
				visited.add(path);
				check(path, { rec, status: actor.getSnapshot().status });
			}
			actor.stop();
		}
		// The replays went through every kind of state (not just the first few).
		const expected =
			direction === 'outgoing'
				? ['calling.microphone', 'calling.offering', 'calling.haveLocalOffer', 'connecting.ice', 'connected', 'recovering.waiting', 'recovering.redialing.offering', 'recovering.redialing.haveLocalOffer', 'recovering.redialing.ice', 'recovering.adopting.answering', 'ended', 'failed']
				: ['ringing', 'connecting.microphone', 'connecting.answering', 'connecting.haveRemoteOffer', 'connecting.ice', 'connected', 'recovering.waiting', 'recovering.awaitingRedial', 'recovering.adopting.answering', 'recovering.adopting.haveRemoteOffer', 'recovering.adopting.ice', 'ended', 'failed'];
		for (const state of expected) expect(visited, state).toContain(state);
	}, 30_000);
});

describe('call machine with its real report and control actions', () => {
	/** The real call machine (fake actors only) invoked by a parent that records what it hears. */
	function inSession(direction: 'outgoing' | 'incoming') {
		const heard: { type: string; [k: string]: unknown }[] = [];
		const connects: { to: string; metadata: unknown }[] = [];
		const peer = {
			destroyed: false,
			connect: (to: string, options: { metadata: unknown }) => {
				connects.push({ to, metadata: options.metadata });
				return { on: () => {}, close: () => {} };
			}
		} as unknown as import('peerjs').Peer;
		const machine = inertCall();
		const input: CallInput = { direction, remoteId: 'far', callId: 'c1', peer, localStream: videoStream() };
		const parent = createActor(
			xsetup({ actors: { call: machine } }).createMachine({
				invoke: { src: 'call', id: 'call', input },
				on: { '*': { actions: ({ event }) => heard.push(event as never) } }
			})
		).start();
		return { heard, connects, call: parent.getSnapshot().children.call! };
	}

	test('the session hears each phase and the end once, with the reason', () => {
		const { heard, call } = inSession('incoming');
		call.send({ type: 'call.accept' });
		call.send({ type: 'media.signalingState', state: 'have-remote-offer' });
		call.send({ type: 'media.signalingState', state: 'stable' });
		call.send({ type: 'ice.connected' });
		call.send({ type: 'ice.stalled' });
		call.send({ type: 'call.hangup' });
		const phases = heard.filter((e) => e.type === 'call.phase').map((e) => e.phase);
		expect(phases).toEqual(['ringing', 'setup', 'connected', 'recovering']);
		const ended = heard.filter((e) => e.type === 'call.ended');
		expect(ended).toEqual([{ type: 'call.ended', callId: 'c1', failure: { reason: 'hung-up', message: 'Call ended.' } }]);
		// Once the microphone step was over (here, no microphone), with the camera the call sends.
		const camera = call.getSnapshot().context.localStream;
		expect(heard.filter((e) => e.type === 'call.micOpened')).toEqual([{ type: 'call.micOpened', stream: camera }]);
	});

	test('decline and cancel go to the far side through the Peer, naming the call', () => {
		const callee = inSession('incoming');
		callee.call.send({ type: 'call.decline' });
		expect(callee.connects).toEqual([{ to: 'far', metadata: { control: { type: 'decline', callId: 'c1' } } }]);
		const caller = inSession('outgoing');
		caller.call.send({ type: 'call.hangup' });
		expect(caller.connects).toEqual([{ to: 'far', metadata: { control: { type: 'cancel', callId: 'c1' } } }]);
	});
});

/**
 * Every way out of every state, each checked for where it lands, why, and what the far side and
 * the media connection were told.
 */
describe('call machine: each exit of each state', () => {
	type Setup = (t: T) => void;
	const outgoingConnecting: Setup = (t) => {
		t.micReady();
		t.media({ type: 'media.pc', pc });
		t.media({ type: 'media.signalingState', state: 'have-local-offer' });
		t.media({ type: 'media.signalingState', state: 'stable' });
	};
	const incomingAnswering: Setup = (t) => {
		t.actor.send({ type: 'call.accept' });
		t.micReady();
		t.media({ type: 'media.pc', pc });
	};
	const recovering: Setup = (t) => {
		connectIncoming(t);
		t.actor.send({ type: 'ice.stalled' });
	};
	const cases: [string, 'outgoing' | 'incoming', Setup, { type: string; [k: string]: unknown } | number, string, string | null, { declines?: number; cancels?: number; close?: boolean }][] = [
		['calling: hang up', 'outgoing', (t) => t.micReady(), { type: 'call.hangup' }, 'ended', 'hung-up', { cancels: 1, close: true }],
		['calling: ICE fails', 'outgoing', (t) => t.micReady(), { type: 'ice.failed' }, 'failed', 'connection-lost', {}],
		['ringing: ring timeout', 'incoming', () => {}, 30_000, 'ended', 'missed', {}],
		['ringing: decline', 'incoming', () => {}, { type: 'call.decline' }, 'ended', 'declined-by-me', { declines: 1, close: true }],
		['ringing: hang up', 'incoming', () => {}, { type: 'call.hangup' }, 'ended', 'declined-by-me', { declines: 1, close: true }],
		['ringing: caller cancels', 'incoming', () => {}, { type: 'call.control', message: { type: 'cancel', callId: 'c1' } }, 'ended', 'missed-cancelled', {}],
		['ringing: the caller’s ring time ran out', 'incoming', () => {}, { type: 'call.control', message: { type: 'cancel', callId: 'c1', why: 'timeout' } }, 'ended', 'missed', {}],
		['ringing: a decline is not ours to get', 'incoming', () => {}, { type: 'call.control', message: { type: 'decline', callId: 'c1' } }, 'ringing', null, {}],
		['ringing: the offer closes', 'incoming', () => {}, { type: 'media.closed' }, 'ended', 'missed', {}],
		['connecting: connect timeout', 'incoming', incomingAnswering, 20_000, 'failed', 'connection-failed', { close: true }],
		['connecting: hang up after the answer', 'incoming', incomingAnswering, { type: 'call.hangup' }, 'ended', 'hung-up', { close: true }],
		['connecting: the far side hangs up', 'incoming', incomingAnswering, { type: 'media.closed' }, 'ended', 'remote-hung-up', {}],
		['connecting: negotiation fails', 'incoming', incomingAnswering, { type: 'call.webrtcError', message: 'x' }, 'failed', 'negotiation-failed', { close: true }],
		['connecting: ICE fails', 'incoming', incomingAnswering, { type: 'ice.failed' }, 'failed', 'connection-lost', {}],
		['connecting (caller): the far side hangs up', 'outgoing', outgoingConnecting, { type: 'media.closed' }, 'ended', 'remote-hung-up', {}],
		['connecting (caller): hang up', 'outgoing', outgoingConnecting, { type: 'call.hangup' }, 'ended', 'hung-up', { close: true }],
		['connected: hang up', 'incoming', connectIncoming, { type: 'call.hangup' }, 'ended', 'hung-up', { close: true }],
		['connected: ICE disconnected', 'incoming', connectIncoming, { type: 'ice.disconnected' }, 'recovering.waiting', null, {}],
		['recovering: hang up', 'incoming', recovering, { type: 'call.hangup' }, 'ended', 'hung-up', { close: true }],
		['recovering: ICE connects again', 'incoming', recovering, { type: 'ice.connected' }, 'connected', null, {}],
		['recovering: a late close of the dead connection', 'incoming', recovering, { type: 'media.closed' }, 'recovering.waiting', null, {}],
		['recovering (callee): no re-dial within recoverGrace', 'incoming', recovering, 5000, 'recovering.awaitingRedial', null, {}],
		['recovering (caller): out of re-dials at recoverGrace', 'outgoing', (t) => {
			connectOutgoing(t);
			t.actor.send({ type: 'ice.stalled' });
			t.clock.increment(10_000);
			t.media({ type: 'media.closed' });
		}, 5000, 'ended', 'connection-lost', {}]
	];

	test.each(cases)('%s', (_name, direction, arrange, act, path, reason, told) => {
		const t = setup(direction);
		arrange(t);
		const before = t.rec.commands.length;
		if (typeof act === 'number') t.clock.increment(act);
		else t.actor.send(act as never);
		expect(t.path()).toBe(path);
		expect(t.reason() ?? null).toBe(reason);
		expect(t.rec.declines).toBe(told.declines ?? 0);
		expect(t.rec.cancels).toBe(told.cancels ?? 0);
		const sent = t.rec.commands.slice(before).map((c) => c.type);
		expect(sent.includes('media.close')).toBe(!!told.close);
		if (path === 'ended' || path === 'failed') {
			expectReleased(t);
			if (t.actor.getSnapshot().context.ice !== null || t.rec.iceEvents.length) expect(t.rec.iceStopped).toBeGreaterThan(0);
		}
	});

	test('a waiting re-dial is silent about the old connection; an adopted one goes back to waiting when it closes', () => {
		const t = setup('incoming');
		connectIncoming(t);
		t.actor.send({ type: 'ice.stalled' });
		t.clock.increment(5000);
		t.media({ type: 'media.closed' });
		expect(t.path()).toBe('recovering.awaitingRedial');
		const redial = { peer: 'far' } as unknown as import('peerjs').MediaConnection;
		t.actor.send({ type: 'call.redial', call: redial });
		expect(t.rec.iceStopped).toBe(1);
		t.media({ type: 'media.closed' });
		expect(t.path()).toBe('recovering.awaitingRedial');
		// Another re-dial while adopting: adopted again.
		t.actor.send({ type: 'call.redial', call: redial });
		t.media({ type: 'media.pc', pc });
		t.actor.send({ type: 'call.redial', call: redial });
		expect(t.count('media.adopt')).toBe(3);
		expect(t.path()).toBe('recovering.adopting.answering');
	});

	test('the context follows the media: streams, the far side’s microphone, the answer stream, the pc’s signaling state', () => {
		const t = setup('incoming');
		expect(t.actor.getSnapshot().context).toMatchObject({ micAvailable: true, incoming: null, remoteCameraOff: false, remoteMicMuted: false });
		t.actor.send({ type: 'call.accept' });
		t.micReady();
		const answer = t.rec.commands.find((c) => c.type === 'media.answer') as Extract<MediaCommand, { type: 'media.answer' }>;
		expect(answer.stream.getTracks().map((tr) => tr.kind).sort()).toEqual(['audio', 'video']);
		expect(t.actor.getSnapshot().context.micTrack).toBe(t.micTrack);
		t.media({ type: 'media.signalingState', state: 'have-remote-offer' });
		expect(t.actor.getSnapshot().context.signalingState).toBe('have-remote-offer');
		const remote = videoStream('remote');
		t.media({ type: 'media.remoteStream', stream: remote });
		t.media({ type: 'media.remoteMic', muted: true });
		const back = videoStream('back');
		t.actor.send({ type: 'call.localStream', stream: back });
		expect(t.actor.getSnapshot().context).toMatchObject({ remoteStream: remote, remoteMicMuted: true, localStream: back });
		// The next outgoing stream carries the new camera.
		t.media({ type: 'media.signalingState', state: 'stable' });
		t.actor.send({ type: 'ice.connected' });
		t.actor.send({ type: 'call.redial', call: {} as never });
		const adopt = t.rec.commands.at(-1) as Extract<MediaCommand, { type: 'media.adopt' }>;
		expect(adopt.stream.getVideoTracks()[0]).toBe(back.getVideoTracks()[0]);
	});

	test('the ICE machine is spawned per pc and stopped when a re-dial replaces it', () => {
		const t = setup('outgoing');
		connectOutgoing(t);
		expect(t.actor.getSnapshot().children.ice).toBeDefined();
		t.actor.send({ type: 'ice.stalled' });
		t.clock.increment(5000);
		expect(t.rec.iceStopped).toBe(1);
		expect(t.actor.getSnapshot().context.ice).toBeNull();
		t.media({ type: 'media.pc', pc });
		expect(t.actor.getSnapshot().context.ice).not.toBeNull();
		t.media({ type: 'media.alive' });
		expect(t.rec.iceEvents).toContain('ice.peerAlive');
	});
});

describe('call machine: this device’s certificate and the safety code', () => {
	/** The fakes, with the certificate and the extras sent by the test when it wants. */
	function withExtras(direction: 'outgoing' | 'incoming') {
		const { rec, machine } = fakes();
		const to = { certificate: (_e: { type: string; [k: string]: unknown }) => {}, extras: (_e: { type: string; [k: string]: unknown }) => {} };
		/** A machine that records its input and every event it hears. */
		const recorder = (inputs: unknown[], heard: { type: string; [k: string]: unknown }[]) =>
			xsetup({}).createMachine({
				context: ({ input }: { input: unknown }) => (inputs.push(input), {}),
				on: { '*': { actions: ({ event }) => heard.push(event as never) } }
			});
		const safetyHeard: { type: string; pc?: unknown }[] = [];
		const safetyInputs: unknown[] = [];
		const safety = recorder(safetyInputs, safetyHeard);
		const chatHeard: { type: string; [k: string]: unknown }[] = [];
		const chatInputs: unknown[] = [];
		const chat = recorder(chatInputs, chatHeard);
		const actor = createActor(
			machine.provide({
				actors: {
					deviceCertificate: fromCallback(({ sendBack }) => void (to.certificate = sendBack as never)),
					callExtras: fromCallback(({ sendBack }) => void (to.extras = sendBack as never))
				}
			}),
			{ input: { direction, remoteId: 'far', callId: 'c1', peer: null, localStream: videoStream() } }
		).start();
		const loaded = { type: 'extras.loaded', safety, chat };
		return { actor, rec, to, loaded, safetyHeard, safetyInputs, chatHeard, chatInputs, path: () => pathOf(actor.getSnapshot().value) };
	}
	const cert = { expires: 1 } as unknown as RTCCertificate;

	test('the offer waits for the microphone and the certificate, in either order, and carries the certificate', () => {
		const t = withExtras('outgoing');
		t.rec.toCall({ type: 'mic.unavailable' });
		expect(t.path()).toBe('calling.microphone');
		expect(t.rec.commands).toEqual([]);
		t.to.certificate({ type: 'certificate.ready', certificate: cert });
		expect(t.path()).toBe('calling.offering');
		expect(t.rec.commands).toEqual([expect.objectContaining({ type: 'media.dial', certificate: cert })]);

		const u = withExtras('outgoing');
		u.to.certificate({ type: 'certificate.none' });
		expect(u.path()).toBe('calling.microphone');
		u.rec.toCall({ type: 'mic.unavailable' });
		expect(u.path()).toBe('calling.offering');
		expect(u.rec.commands).toEqual([expect.objectContaining({ type: 'media.dial', certificate: null })]);
	});

	test('the answer waits for the certificate too; re-dials and adopted re-dials carry it', () => {
		const t = withExtras('incoming');
		t.to.certificate({ type: 'certificate.ready', certificate: cert });
		t.actor.send({ type: 'call.accept' });
		expect(t.path()).toBe('connecting.microphone');
		t.rec.toCall({ type: 'mic.unavailable' });
		expect(t.rec.commands).toEqual([expect.objectContaining({ type: 'media.answer', certificate: cert })]);
		answeredToConnected(t);
		t.actor.send({ type: 'call.redial', call: {} as never });
		expect(t.rec.commands.at(-1)).toMatchObject({ type: 'media.adopt', certificate: cert });
	});

	test('the safety machine is spawned when its code arrives, and checks the current pc each time the call connects', () => {
		const t = withExtras('outgoing');
		t.to.certificate({ type: 'certificate.none' });
		t.to.extras(t.loaded);
		expect(t.safetyInputs).toEqual([{ remoteId: 'far' }]);
		expect(t.chatInputs).toEqual([{ peer: null, direction: 'outgoing', remoteId: 'far', callId: 'c1' }]);
		expect(t.actor.getSnapshot().context.safety).toBeTruthy();
		expect(t.actor.getSnapshot().context.chat).toBeTruthy();
		t.rec.toCall({ type: 'mic.unavailable' });
		t.rec.toMedia({ type: 'media.pc', pc });
		t.rec.toMedia({ type: 'media.signalingState', state: 'have-local-offer' });
		expect(t.safetyHeard).toEqual([]);
		t.rec.toMedia({ type: 'media.signalingState', state: 'stable' });
		t.actor.send({ type: 'ice.connected' });
		expect(t.safetyHeard).toEqual([{ type: 'safety.check', pc }]);
		t.actor.send({ type: 'ice.stalled' });
		const pc2 = { id: 2 } as unknown as RTCPeerConnection;
		t.rec.toMedia({ type: 'media.pc', pc: pc2 });
		t.actor.send({ type: 'ice.resumed' });
		expect(t.safetyHeard).toEqual([
			{ type: 'safety.check', pc },
			{ type: 'safety.check', pc: pc2 }
		]);
		expect(t.chatHeard).toEqual([{ type: 'chat.connect' }, { type: 'chat.connect' }]);
		// A second delivery spawns nothing new.
		t.to.extras(t.loaded);
		expect(t.safetyInputs).toHaveLength(1);
		expect(t.chatInputs).toHaveLength(1);
	});

	test('code that arrives after the call connected: spawned and checked at once; code that never arrives changes nothing', () => {
		const t = withExtras('incoming');
		t.to.certificate({ type: 'certificate.none' });
		t.actor.send({ type: 'call.accept' });
		t.rec.toCall({ type: 'mic.unavailable' });
		answeredToConnected(t);
		expect(t.path()).toBe('connected');
		t.to.extras(t.loaded);
		expect(t.safetyHeard).toEqual([{ type: 'safety.check', pc }]);

		const u = withExtras('incoming');
		u.to.extras({ type: 'extras.failed' });
		u.to.certificate({ type: 'certificate.none' });
		u.actor.send({ type: 'call.accept' });
		u.rec.toCall({ type: 'mic.unavailable' });
		expect(u.path()).toBe('connecting.answering');
		expect(u.actor.getSnapshot().context.safety).toBeNull();
	});
});

describe('call machine: chat connections', () => {
	const conn = () => {
		const c = { closed: 0, close: () => void c.closed++ };
		return c;
	};
	function inCall(extras: boolean) {
		const { rec, machine } = fakes();
		const heard: { type: string; [k: string]: unknown }[] = [];
		const chat = xsetup({}).createMachine({ on: { '*': { actions: ({ event }) => heard.push(event as never) } } });
		const actor = createActor(
			machine.provide({
				actors: { callExtras: fromCallback(({ sendBack }) => void (extras && sendBack({ type: 'extras.loaded', safety: xsetup({}).createMachine({}), chat }))) }
			}),
			{ input: { direction: 'incoming', remoteId: 'far', callId: 'c1', peer: null, localStream: videoStream() } }
		).start();
		return { actor, rec, heard };
	}

	test('before the call is connected a chat connection is closed unanswered; connected, it goes to the chat; recovering too', () => {
		const t = inCall(true);
		const early = conn();
		t.actor.send({ type: 'call.chat', from: 'far', conn: early as never, offer: { callId: 'c1' } });
		expect(early.closed).toBe(1);
		t.actor.send({ type: 'call.accept' });
		t.rec.toCall({ type: 'mic.unavailable' });
		answeredToConnected(t);
		const ok = conn();
		t.actor.send({ type: 'call.chat', from: 'far', conn: ok as never, offer: { callId: 'c1' } });
		expect(ok.closed).toBe(0);
		expect(t.heard.filter((e) => e.type === 'chat.incoming')).toEqual([{ type: 'chat.incoming', from: 'far', conn: ok, offer: { callId: 'c1' } }]);
		t.actor.send({ type: 'ice.stalled' });
		const again = conn();
		t.actor.send({ type: 'call.chat', from: 'far', conn: again as never, offer: { callId: 'c1' } });
		expect(t.heard.filter((e) => e.type === 'chat.incoming')).toHaveLength(2);
		// Once the call is over the session closes them itself (the call no longer listens).
	});

	test('connected with no chat (its code did not load): closed', () => {
		const t = inCall(false);
		t.actor.send({ type: 'call.accept' });
		t.rec.toCall({ type: 'mic.unavailable' });
		answeredToConnected(t);
		const c = conn();
		t.actor.send({ type: 'call.chat', from: 'far', conn: c as never, offer: { callId: 'c1' } });
		expect(c.closed).toBe(1);
	});
});
