/**
 * The call's microphone on iOS Safari and elsewhere (issue 19, item 4a): which request it makes
 * (the decision, from the user agent), what it hands over, and, with the real session, capture
 * and call machines over a fake "iPhone" whose every new camera request ends the camera tracks
 * opened before (WebKit bug 179363), that the preview never goes black or to `failed` when a
 * call opens its microphone.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, setup, waitFor } from 'xstate';
import { microphone, microphoneIo, type MicEvent } from '$machines/actors/microphone';
import { micRequest, secondRequestEndsTracks } from '$machines/actors/microphone-io';
import { videoConstraints } from '$machines/actors/media';
import { callMachine } from '$machines/call.machine';
import { sessionMachine } from '$machines/session.machine';
import type { MediaCommand } from '$machines/actors/call';
import type { Peer } from 'peerjs';
import { callLoader, domError, FakeStream } from './fakes';

const ua = {
	iPhone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
	iPhoneChrome: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/126.0.6478.54 Mobile/15E148 Safari/604.1',
	iPhoneFirefox: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/127.0 Mobile/15E148 Safari/605.1.15',
	iPad: 'Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1',
	/** iPadOS asks for desktop sites: the same string as a Mac's Safari. */
	desktopSafari: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
	android: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
	windows: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
	firefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
};

class Track extends EventTarget {
	readyState: 'live' | 'ended' = 'live';
	enabled = true;
	constructor(
		readonly kind: 'audio' | 'video',
		readonly label: string,
		readonly settings: MediaTrackSettings = {}
	) {
		super();
	}
	getSettings() {
		return this.settings;
	}
	/** As in browsers, stop() does not fire `ended`. */
	stop() {
		this.readyState = 'ended';
	}
	/** Ended by the browser (here: by a later request on iOS): fires `ended`. */
	end() {
		if (this.readyState === 'ended') return;
		this.readyState = 'ended';
		this.dispatchEvent(new Event('ended'));
	}
}

type Ask = { audio?: unknown; video?: boolean | { deviceId?: { exact: string }; facingMode?: { ideal: string } } };

/**
 * A phone's media devices. `endsEarlierTracks`: every new request ends the camera tracks opened
 * before it (`ended` fires before the request resolves), as iOS can; `audioEndsCamera`: even a
 * microphone-only request does (an engine the app would not recognise as WebKit).
 */
class Phone extends EventTarget {
	requests: Ask[] = [];
	tracks: Track[] = [];
	failNext: string[] = [];
	constructor(readonly options: { endsEarlierTracks?: boolean; audioEndsCamera?: boolean } = {}) {
		super();
	}
	liveVideo() {
		return this.tracks.filter((t) => t.kind === 'video' && t.readyState === 'live');
	}
	async getUserMedia(ask: Ask) {
		this.requests.push(ask);
		await Promise.resolve();
		const failure = this.failNext.shift();
		if (failure) throw domError(failure);
		if ((ask.video && this.options.endsEarlierTracks) || this.options.audioEndsCamera) this.liveVideo().forEach((t) => t.end());
		const made: Track[] = [];
		if (ask.audio) made.push(new Track('audio', 'iPhone Microphone'));
		if (ask.video) {
			const v = ask.video === true ? {} : ask.video;
			const deviceId = v.deviceId?.exact ?? (v.facingMode?.ideal === 'environment' ? 'back' : 'front');
			made.push(new Track('video', deviceId === 'back' ? 'Back Camera' : 'Front Camera', { deviceId, facingMode: deviceId === 'back' ? 'environment' : 'user', width: 1280, height: 720 }));
		}
		this.tracks.push(...made);
		return new FakeStream(made);
	}
	async enumerateDevices() {
		return [
			{ kind: 'videoinput', deviceId: 'front', label: 'Front Camera', groupId: '' },
			{ kind: 'videoinput', deviceId: 'back', label: 'Back Camera', groupId: '' }
		];
	}
}

function stubPhone(userAgent: string, phone = new Phone(), maxTouchPoints = 5) {
	vi.stubGlobal('navigator', { userAgent, maxTouchPoints, mediaDevices: phone });
	vi.stubGlobal('MediaStream', FakeStream);
	return phone;
}

const live = (settings: MediaTrackSettings = { deviceId: 'back', facingMode: 'environment' }) =>
	new Track('video', 'camera', settings) as unknown as MediaStreamTrack;

afterEach(() => {
	vi.unstubAllGlobals();
});

describe('the decision: where a second getUserMedia may end the camera', () => {
	test.each([
		['iPhone Safari', ua.iPhone, 5, true],
		['Chrome on iPhone (WebKit too)', ua.iPhoneChrome, 5, true],
		['Firefox on iPhone (WebKit too)', ua.iPhoneFirefox, 5, true],
		['iPad Safari', ua.iPad, 5, true],
		['iPadOS asking for desktop sites (a "Macintosh" with a touch screen)', ua.desktopSafari, 5, true],
		['Safari on a Mac (no touch screen)', ua.desktopSafari, 0, false],
		['Chrome on Android', ua.android, 5, false],
		['Chrome on Windows', ua.windows, 0, false],
		['Firefox on Linux', ua.firefox, 0, false]
	])('%s → %s', (_name, userAgent, maxTouchPoints, expected) => {
		expect(secondRequestEndsTracks({ userAgent, maxTouchPoints })).toBe(expected);
	});

	const audio = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

	test('WebKit with a live camera: the microphone and that camera together (same device, the preview’s size)', () => {
		expect(micRequest({ userAgent: ua.iPhone, maxTouchPoints: 5 }, live(), videoConstraints)).toEqual({
			audio,
			video: { deviceId: { exact: 'back' }, width: { ideal: 1280 }, height: { ideal: 720 } }
		});
		// A camera that reports no device: by its facing, never `exact`.
		expect(micRequest({ userAgent: ua.iPhone, maxTouchPoints: 5 }, live({ facingMode: 'environment' }), videoConstraints)).toEqual({
			audio,
			video: { facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } }
		});
	});

	test('the microphone alone: elsewhere, and on WebKit without a live camera', () => {
		const audioOnly = { audio, video: false };
		expect(micRequest({ userAgent: ua.android, maxTouchPoints: 5 }, live(), videoConstraints)).toEqual(audioOnly);
		expect(micRequest({ userAgent: ua.iPhone, maxTouchPoints: 5 }, null, videoConstraints)).toEqual(audioOnly);
		const ended = live();
		ended.stop();
		expect(micRequest({ userAgent: ua.iPhone, maxTouchPoints: 5 }, ended, videoConstraints)).toEqual(audioOnly);
	});
});

describe('the microphone actor', () => {
	/** A parent that invokes the real actor, asks it to open, and records what it sends back. */
	function open(camera: MediaStreamTrack | null, logic = microphone) {
		const events: MicEvent[] = [];
		const parent = createActor(
			setup({ actors: { microphone: logic } }).createMachine({
				invoke: { src: 'microphone', id: 'mic' },
				on: { '*': { actions: ({ event }) => events.push(event as MicEvent) } }
			})
		).start();
		const stream = camera ? (new FakeStream([camera as unknown as Track]) as unknown as MediaStream) : null;
		parent.getSnapshot().children.mic!.send({ type: 'mic.open', camera: stream });
		const settled = () => vi.waitFor(() => expect(events).toHaveLength(1));
		return { parent, events, settled };
	}

	test('iPhone: one request, microphone and camera; the new camera is handed over, video only, and the old one left to its owner', async () => {
		const phone = stubPhone(ua.iPhone);
		const old = live({ deviceId: 'front', facingMode: 'user' });
		const { events, settled } = open(old);
		await settled();
		expect(phone.requests).toHaveLength(1);
		expect(phone.requests[0].video).toEqual({ deviceId: { exact: 'front' }, width: { ideal: 1280 }, height: { ideal: 720 } });
		const [audio, video] = phone.tracks;
		const ready = events[0] as Extract<MicEvent, { type: 'mic.ready' }>;
		expect(ready.track).toBe(audio);
		expect(ready.camera!.getTracks()).toEqual([video]);
		expect(video.readyState).toBe('live');
		// Stopping it is the capture machine's job, once the new one is in its hands.
		expect(old.readyState).toBe('live');
	});

	test('Android: the microphone alone, as before; no camera handed over', async () => {
		const phone = stubPhone(ua.android);
		const { events, settled } = open(live());
		await settled();
		expect(phone.requests.map((r) => r.video)).toEqual([false]);
		expect(events[0]).toMatchObject({ type: 'mic.ready', camera: null });
	});

	test('iPhone, the camera part refused (OverconstrainedError): the microphone alone, so the call still has sound', async () => {
		const phone = stubPhone(ua.iPhone);
		phone.failNext = ['OverconstrainedError'];
		const { events, settled } = open(live());
		await settled();
		expect(phone.requests.map((r) => !!r.video)).toEqual([true, false]);
		expect(events[0]).toMatchObject({ type: 'mic.ready', camera: null });
	});

	test('iPhone, a camera that came back already ended is not handed over (and is stopped)', async () => {
		const phone = stubPhone(ua.iPhone);
		const real = phone.getUserMedia.bind(phone);
		phone.getUserMedia = async (ask: Ask) => {
			const stream = await real(ask);
			stream.getVideoTracks().forEach((t) => t.end());
			return stream;
		};
		const { events, settled } = open(live());
		await settled();
		expect(events[0]).toMatchObject({ type: 'mic.ready', camera: null });
	});

	test('hung up while the prompt is still open: what arrives afterwards, microphone and camera, is stopped at once', async () => {
		const phone = stubPhone(ua.iPhone);
		let asked = false;
		let release: () => void = () => {};
		const real = phone.getUserMedia.bind(phone);
		phone.getUserMedia = async (ask: Ask) => {
			asked = true;
			await new Promise<void>((r) => (release = r));
			return real(ask);
		};
		const { parent, events } = open(live());
		await vi.waitFor(() => expect(asked).toBe(true));
		parent.stop();
		release();
		await vi.waitFor(() => expect(phone.tracks).toHaveLength(2));
		await new Promise((r) => setTimeout(r, 0));
		expect(phone.tracks.map((t) => t.readyState)).toEqual(['ended', 'ended']);
		expect(events).toEqual([]);
	});

	test('hung up before its code arrived: nothing is opened at all', async () => {
		const phone = stubPhone(ua.iPhone);
		// A page whose microphone code has not loaded yet.
		vi.resetModules();
		const fresh = await import('$machines/actors/microphone');
		expect(fresh.microphoneIo.now).toBeNull();
		const { parent, events } = open(live(), fresh.microphone);
		parent.stop();
		await new Promise((r) => setTimeout(r, 50));
		expect(phone.requests).toEqual([]);
		expect(events).toEqual([]);
	});

	test('once its code has loaded (ahead of the first call), the request goes out in the step that asks for it', async () => {
		const phone = stubPhone(ua.android);
		await microphoneIo.load();
		const { settled } = open(null);
		// Not after a render of the state that asked: at once.
		expect(phone.requests).toHaveLength(1);
		await settled();
	});

	test('opened, then the call ends: the microphone is stopped; a handed-over camera is not (it is the capture machine’s)', async () => {
		const phone = stubPhone(ua.iPhone);
		const { parent, settled } = open(live());
		await settled();
		const [audio, video] = phone.tracks;
		parent.stop();
		expect(audio.readyState).toBe('ended');
		expect(video.readyState).toBe('live');
	});

	test('refused or absent: mic.unavailable', async () => {
		const phone = stubPhone(ua.android);
		phone.failNext = ['NotAllowedError'];
		const { events, settled } = open(null);
		await settled();
		expect(events).toEqual([{ type: 'mic.unavailable' }]);
	});
});

/**
 * The whole chain on a fake phone: the real session, capture and call machines (the call's media
 * connection, ICE and device actors inert) and the real microphone actor.
 */
describe('a call opens its microphone: the preview keeps a live camera', () => {
	function start(userAgent: string, phone: Phone) {
		stubPhone(userAgent, phone);
		const commands: MediaCommand[] = [];
		const call = callMachine.provide({
			actors: {
				mediaCall: fromCallback(({ receive }) => {
					receive((c) => commands.push(c as MediaCommand));
				}),
				ice: fromCallback(() => {}) as never,
				ring: fromCallback(() => {}),
				ringBack: fromCallback(() => {}),
				wakeLock: fromCallback(() => {}),
				mediaSession: fromCallback(() => {}),
				deviceCertificate: fromCallback(({ sendBack }) => sendBack({ type: 'certificate.none' })),
				callExtras: fromCallback(() => {})
			},
			actions: { sendDecline: () => {}, sendCancel: () => {} }
		});
		const session = createActor(
			sessionMachine.provide({
				actors: {
					permission: setup({}).createMachine({}) as never,
					signaling: setup({}).createMachine({}) as never,
					loadCallMachine: callLoader(call),
					prepareCalls: fromCallback(() => {})
				}
			})
		).start();
		const capture = session.system.get('capture');
		const captureStates: string[] = [];
		capture.subscribe((s: { value: unknown }) => captureStates.push(JSON.stringify(s.value)));
		session.send({ type: 'signaling.peer', peer: { id: 'me', disconnected: false, destroyed: false } as unknown as Peer });
		return { session, capture, captureStates, commands, stream: () => capture.getSnapshot().context.stream as MediaStream | null };
	}

	test('iPhone: the camera reopened with the microphone replaces the preview’s, the old one stopped, never `failed`', async () => {
		const phone = new Phone({ endsEarlierTracks: true });
		const t = start(ua.iPhone, phone);
		t.capture.send({ type: 'camera.start' });
		await waitFor(t.capture, (s) => s.matches('live'));
		const first = t.stream()!.getVideoTracks()[0] as unknown as Track;

		const before = t.captureStates.length;
		t.session.send({ type: 'call.dial', peerId: 'friend' });
		await vi.waitFor(() => expect(t.commands.map((c) => c.type)).toContain('media.dial'));

		// One request at call time, microphone with the same camera; the old track ended meanwhile.
		expect(phone.requests.slice(1)).toEqual([expect.objectContaining({ video: expect.objectContaining({ deviceId: { exact: 'front' } }) })]);
		expect(first.readyState).toBe('ended');
		const [mic, second] = phone.tracks.slice(1);
		// The preview and the session's stream are the new camera; the call sends it with the mic.
		expect(t.capture.getSnapshot().matches({ live: 'steady' })).toBe(true);
		expect(t.stream()!.getVideoTracks()).toEqual([second]);
		expect(t.session.getSnapshot().context.localStream).toBe(t.stream());
		const dial = t.commands.find((c) => c.type === 'media.dial') as Extract<MediaCommand, { type: 'media.dial' }>;
		expect(dial.stream.getTracks()).toEqual([second, mic]);
		expect(second.readyState).toBe('live');
		// It waited the request out (the old track ended first) and never failed or reopened.
		const during = t.captureStates.slice(before);
		expect(during).toContain('{"live":"trackLost"}');
		expect(during.filter((s) => /failed|acquiring/.test(s))).toEqual([]);
	});

	test('an engine not known for it, whose microphone request ends the camera anyway: the camera is reopened, not left black or failed', async () => {
		const phone = new Phone({ audioEndsCamera: true });
		const t = start(ua.android, phone);
		t.capture.send({ type: 'camera.start' });
		await waitFor(t.capture, (s) => s.matches('live'));
		const first = t.stream()!.getVideoTracks()[0] as unknown as Track;
		phone.options.audioEndsCamera = false;
		// Only the call's microphone request ends it (the next camera request is the reopening).
		const real = phone.getUserMedia.bind(phone);
		phone.getUserMedia = async (ask: Ask) => {
			// As an engine does it: while the request is served, not inside the call to it.
			if (!ask.video) queueMicrotask(() => first.end());
			return real(ask);
		};

		t.session.send({ type: 'call.dial', peerId: 'friend' });
		await vi.waitFor(() => expect(t.stream()?.getVideoTracks()[0]).not.toBe(first));
		await waitFor(t.capture, (s) => s.matches('live'));
		expect(phone.requests.map((r) => (r.video ? 'camera' : 'microphone'))).toEqual(['camera', 'microphone', 'camera']);
		const reopened = t.stream()!.getVideoTracks()[0] as unknown as Track;
		expect(reopened.readyState).toBe('live');
		expect(t.captureStates).toContain('{"live":"trackLost"}');
		expect(t.captureStates.some((s) => s.includes('failed'))).toBe(false);
		// The call sends the reopened camera (replaceTrack, no new offer).
		await vi.waitFor(() =>
			expect(t.commands).toContainEqual({ type: 'media.replaceTrack', track: reopened })
		);
	});
});
