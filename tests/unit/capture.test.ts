/**
 * The capture machine with its real actors (openCamera, watchCamera) over fake camera hardware:
 * a `navigator.mediaDevices` that records every getUserMedia request, hands out tracks it can
 * end, and refuses a second camera while one is open (as Android does). The machine runs as the
 * child of a parent that records what the session would hear. Tests check the system (which
 * cameras were asked for, which tracks are live, what the session was told), not the chart.
 */
import { afterEach, describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, setup, waitFor, type ActorRefFrom, type AnyEventObject } from 'xstate';
import { captureMachine, flipTarget, type CaptureContext } from '$machines/capture.machine';
import { captureMessages } from '$machines/errors';
import { pageVisibility, type Facing } from '$machines/actors/media';
import { domError } from './fakes';

interface Camera {
	deviceId: string;
	label: string;
	facing?: Facing;
	/** Zoom and torch as getCapabilities() reports them (an Android back camera). */
	caps?: { zoom?: { min: number; max: number; step: number }; torch?: boolean };
}

class CameraTrack extends EventTarget {
	readonly kind = 'video';
	readyState: 'live' | 'ended' = 'live';
	enabled = true;
	constructor(
		readonly camera: Camera,
		readonly width: number,
		readonly height: number
	) {
		super();
	}
	get label() {
		return this.camera.label;
	}
	getSettings() {
		return {
			deviceId: this.camera.deviceId,
			width: this.width,
			height: this.height,
			...(this.camera.facing ? { facingMode: this.camera.facing } : {})
		};
	}
	getCapabilities() {
		return { deviceId: this.camera.deviceId, width: { min: 1, max: 1920 }, ...this.camera.caps };
	}
	/** As in browsers, stop() does not fire `ended`. */
	stop() {
		this.readyState = 'ended';
	}
	/** Unplugged, revoked, or taken by the OS: ends and fires `ended`. */
	end() {
		this.readyState = 'ended';
		this.dispatchEvent(new Event('ended'));
	}
}

class CameraStream {
	constructor(readonly track: CameraTrack) {}
	getTracks() {
		return [this.track];
	}
	getVideoTracks() {
		return [this.track];
	}
	getAudioTracks() {
		return [];
	}
}

type VideoAsk = true | { deviceId?: { exact: string }; facingMode?: { ideal: Facing }; width?: unknown; height?: unknown };

class FakeMediaDevices extends EventTarget {
	/** Every getUserMedia call, in order. */
	requests: { video: VideoAsk; audio: unknown }[] = [];
	/** Every track ever handed out. */
	tracks: CameraTrack[] = [];
	/** Error names the next getUserMedia calls fail with, one per call. */
	failNext: string[] = [];
	/** Cameras that never open (NotReadableError). */
	broken = new Set<string>();
	/** Cameras that only open when asked for any video (OverconstrainedError otherwise). */
	picky = new Set<string>();
	/** What enumerateDevices answers; null: the cameras. */
	listed: Camera[] | null = null;

	constructor(public cameras: Camera[]) {
		super();
	}
	live() {
		return this.tracks.filter((t) => t.readyState === 'live');
	}
	/** The camera each request asked for, by deviceId or facing (`*` for any video). */
	asked() {
		return this.requests.map(({ video }) =>
			video === true ? '*' : (video.deviceId?.exact ?? `facing:${video.facingMode?.ideal}`)
		);
	}
	async getUserMedia(constraints: { video: VideoAsk; audio: unknown }) {
		this.requests.push(constraints);
		await Promise.resolve();
		const failure = this.failNext.shift();
		if (failure) throw domError(failure);
		// Android refuses to open a second camera while one is open.
		if (this.live().length) throw domError('NotReadableError', 'Could not start video source');
		const video = constraints.video;
		let camera: Camera | undefined;
		if (video === true) camera = this.cameras[0];
		else if (video.deviceId) camera = this.cameras.find((c) => c.deviceId === video.deviceId!.exact);
		else camera = this.cameras.find((c) => c.facing === video.facingMode?.ideal) ?? this.cameras[0];
		if (!camera) throw domError('OverconstrainedError');
		if (this.broken.has(camera.deviceId)) throw domError('NotReadableError');
		if (this.picky.has(camera.deviceId) && video !== true) throw domError('OverconstrainedError');
		const track = video !== true && video.width ? new CameraTrack(camera, 1280, 720) : new CameraTrack(camera, 640, 480);
		this.tracks.push(track);
		return new CameraStream(track);
	}
	async enumerateDevices() {
		return (this.listed ?? this.cameras).map((c) => ({ kind: 'videoinput', deviceId: c.deviceId, label: c.label, groupId: '' }));
	}
	plug(camera: Camera) {
		this.cameras.push(camera);
		this.dispatchEvent(new Event('devicechange'));
	}
}

const laptop = (): Camera[] => [
	{ deviceId: 'cam-a', label: 'Camera A' },
	{ deviceId: 'cam-b', label: 'Camera B' }
];
const phone = (): Camera[] => [
	{ deviceId: 'front', label: 'Front camera', facing: 'user' },
	{ deviceId: 'back', label: 'Back camera', facing: 'environment' }
];

type Capture = ActorRefFrom<typeof captureMachine>;

/** The capture machine as the session holds it, over `cameras`. */
function start(cameras: Camera[], machine: typeof captureMachine = captureMachine) {
	const devices = new FakeMediaDevices(cameras);
	vi.stubGlobal('navigator', { mediaDevices: devices });
	const heard: AnyEventObject[] = [];
	const parent = createActor(
		setup({ actors: { capture: machine } }).createMachine({
			invoke: { src: 'capture', id: 'capture' },
			on: { '*': { actions: ({ event }) => heard.push(event) } }
		})
	).start();
	const capture = parent.getSnapshot().children.capture as Capture;
	const values: string[] = [];
	capture.subscribe((s) => values.push(JSON.stringify(s.value)));
	const until = (value: 'idle' | 'live' | 'failed') => waitFor(capture, (s) => s.matches(value), { timeout: 1000 });
	return { parent, devices, heard, capture, values, until, ctx: () => capture.getSnapshot().context };
}

/** The one live track, checked to be the stream the machine holds. */
function liveTrack(devices: FakeMediaDevices, capture: Capture): CameraTrack {
	const live = devices.live();
	expect(live).toHaveLength(1);
	expect(capture.getSnapshot().context.stream?.getVideoTracks()[0]).toBe(live[0]);
	return live[0];
}

afterEach(() => {
	vi.unstubAllGlobals();
});

describe('capture machine: opening the camera', () => {
	test('idle until camera.start; then one video-only request, and the session hears the live stream', async () => {
		const { devices, heard, capture, until, ctx } = start(laptop());
		expect(capture.getSnapshot().value).toEqual({ idle: 'off' });
		expect(devices.requests).toEqual([]);
		capture.send({ type: 'camera.start' });
		expect(capture.getSnapshot().value).toBe('acquiring');
		await until('live');
		// The preview must not light the microphone indicator.
		expect(devices.requests).toEqual([
			{ video: { facingMode: { ideal: 'user' }, width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false }
		]);
		const track = liveTrack(devices, capture);
		expect(heard).toEqual([{ type: 'capture.live', stream: ctx().stream }]);
		expect(ctx().info).toEqual({
			deviceId: 'cam-a',
			label: 'Camera A',
			width: 1280,
			height: 720,
			facing: null,
			mirrored: true,
			controls: { zoom: null, torch: false }
		});
		expect(ctx().devices.map((d) => d.deviceId)).toEqual(['cam-a', 'cam-b']);
		expect(track.camera.deviceId).toBe('cam-a');
	});

	test.each([
		['NotAllowedError', 'permission-denied'],
		['NotFoundError', 'no-camera'],
		['NotReadableError', 'camera-in-use'],
		['SecurityError', 'insecure-context'],
		['AbortError', 'aborted'],
		['Whatever', 'unknown']
	] as const)('%s → failed %s; the session hears the failure, no camera is left open', async (name, reason) => {
		const { devices, heard, capture, until, ctx } = start(laptop());
		devices.failNext = [name];
		capture.send({ type: 'camera.start' });
		await until('failed');
		const failure = { reason, message: captureMessages[reason] };
		expect(ctx().failure).toEqual(failure);
		expect(heard).toEqual([{ type: 'capture.failed', failure }]);
		expect(devices.live()).toEqual([]);
		expect(ctx().stream).toBeNull();
	});

	test('OverconstrainedError: one retry asking for any video, which opens', async () => {
		const { devices, capture, until, ctx } = start(laptop());
		devices.picky.add('cam-a');
		capture.send({ type: 'camera.start' });
		await until('live');
		expect(devices.asked()).toEqual(['facing:user', '*']);
		expect(ctx().info).toMatchObject({ width: 640, height: 480 });
		liveTrack(devices, capture);
	});

	test('OverconstrainedError twice → failed unsupported-constraint, no endless retry; a retry starts over with the preferred constraints', async () => {
		const { devices, capture, until, ctx } = start(laptop());
		devices.failNext = ['OverconstrainedError', 'OverconstrainedError'];
		capture.send({ type: 'camera.start' });
		await until('failed');
		expect(devices.asked()).toEqual(['facing:user', '*']);
		expect(ctx().failure?.reason).toBe('unsupported-constraint');
		capture.send({ type: 'camera.retry' });
		expect(ctx().failure).toBeNull();
		await until('live');
		expect(devices.asked()).toEqual(['facing:user', '*', 'facing:user']);
	});

	test('with no device list (labels hidden), the open camera is the list: no flip', async () => {
		const { devices, capture, until, ctx } = start(laptop());
		devices.listed = [];
		capture.send({ type: 'camera.start' });
		await until('live');
		expect(ctx().devices).toEqual([{ deviceId: 'cam-a', label: 'Camera A' }]);
		expect(capture.getSnapshot().can({ type: 'camera.flip' })).toBe(false);
	});
});

describe('capture machine: flip', () => {
	test('without a reported facing: the next device by deviceId, old track stopped first, the session hears the new stream', async () => {
		const { devices, heard, capture, until, ctx } = start(laptop());
		capture.send({ type: 'camera.start' });
		await until('live');
		const first = liveTrack(devices, capture);
		capture.send({ type: 'camera.flip' });
		expect(capture.getSnapshot().value).toEqual({ switching: 'opening' });
		await until('live');
		expect(devices.requests[1]).toEqual({
			video: { deviceId: { exact: 'cam-b' }, width: { ideal: 1280 }, height: { ideal: 720 } },
			audio: false
		});
		expect(first.readyState).toBe('ended');
		const second = liveTrack(devices, capture);
		expect(second.camera.deviceId).toBe('cam-b');
		expect(heard.map((e) => e.type)).toEqual(['capture.live', 'capture.live']);
		expect(heard[1].stream.getVideoTracks()[0]).toBe(second);
		capture.send({ type: 'camera.flip' });
		await until('live');
		expect(devices.asked()).toEqual(['facing:user', 'cam-b', 'cam-a']);
		expect(liveTrack(devices, capture).camera.deviceId).toBe('cam-a');
		expect(ctx().notice).toBeNull();
	});

	test('on a phone: asks for the other facing, and back again; only the user-facing preview is mirrored', async () => {
		const { devices, capture, until, ctx } = start(phone());
		capture.send({ type: 'camera.start' });
		await until('live');
		expect(ctx().info?.mirrored).toBe(true);
		capture.send({ type: 'camera.flip' });
		await until('live');
		expect(devices.requests[1].video).toEqual({ facingMode: { ideal: 'environment' }, width: { ideal: 1280 }, height: { ideal: 720 } });
		expect(ctx().info).toMatchObject({ deviceId: 'back', facing: 'environment', mirrored: false });
		capture.send({ type: 'camera.flip' });
		await until('live');
		expect(devices.asked()).toEqual(['facing:user', 'facing:environment', 'facing:user']);
		expect(liveTrack(devices, capture).camera.deviceId).toBe('front');
	});

	test('a phone with three cameras that report facing cycles by deviceId', async () => {
		const { devices, capture, until } = start([...phone(), { deviceId: 'wide', label: 'Back wide camera', facing: 'environment' }]);
		capture.send({ type: 'camera.start' });
		await until('live');
		capture.send({ type: 'camera.flip' });
		await until('live');
		expect(devices.asked()).toEqual(['facing:user', 'back']);
	});

	test('refused with a single camera; plugging in a second one (devicechange) enables it', async () => {
		const { devices, capture, until } = start([laptop()[0]]);
		capture.send({ type: 'camera.start' });
		await until('live');
		expect(capture.getSnapshot().can({ type: 'camera.flip' })).toBe(false);
		capture.send({ type: 'camera.flip' });
		expect(capture.getSnapshot().value).toEqual({ live: 'steady' });
		devices.plug(laptop()[1]);
		await waitFor(capture, (s) => s.context.devices.length === 2, { timeout: 1000 });
		capture.send({ type: 'camera.flip' });
		await until('live');
		expect(liveTrack(devices, capture).camera.deviceId).toBe('cam-b');
	});
});

describe('capture machine: zoom and torch, where the track reports them', () => {
	test('the live camera’s controls come from its capabilities: the back camera’s zoom and torch, none on the front', async () => {
		const { capture, until, ctx } = start([
			{ deviceId: 'front', label: 'Front camera', facing: 'user' },
			{ deviceId: 'back', label: 'Back camera', facing: 'environment', caps: { zoom: { min: 1, max: 8, step: 0.1 }, torch: true } }
		]);
		capture.send({ type: 'camera.start' });
		await until('live');
		expect(ctx().info?.controls).toEqual({ zoom: null, torch: false });
		capture.send({ type: 'camera.flip' });
		await waitFor(capture, (s) => s.matches('live') && s.context.info?.deviceId === 'back', { timeout: 1000 });
		expect(ctx().info?.controls).toEqual({ zoom: { min: 1, max: 8, step: 0.1 }, torch: true });
		capture.send({ type: 'camera.flip' });
		await waitFor(capture, (s) => s.matches('live') && s.context.info?.deviceId === 'front', { timeout: 1000 });
		expect(ctx().info?.controls).toEqual({ zoom: null, torch: false });
	});
});

describe('capture machine: a flip whose camera fails', () => {
	test('goes back to the camera that worked, with a flip-failed notice, and never tells the session it failed', async () => {
		const { devices, heard, capture, until, values, ctx } = start(laptop());
		devices.broken.add('cam-b');
		capture.send({ type: 'camera.start' });
		await until('live');
		const first = liveTrack(devices, capture);
		capture.send({ type: 'camera.flip' });
		await until('live');
		// The chart shows what happened: tried the other camera, went back.
		expect(values.slice(-4)).toEqual(['{"live":"steady"}', '{"switching":"opening"}', '{"switching":"reverting"}', '{"live":"steady"}']);
		expect(devices.asked()).toEqual(['facing:user', 'cam-b', 'facing:user']);
		expect(first.readyState).toBe('ended');
		const back = liveTrack(devices, capture);
		expect(back.camera.deviceId).toBe('cam-a');
		expect(ctx()).toMatchObject({ facing: 'user', deviceId: null, failure: null });
		expect(ctx().notice).toEqual({ reason: 'flip-failed', message: captureMessages['flip-failed'] });
		expect(JSON.parse(JSON.stringify(ctx().notice))).toEqual(ctx().notice);
		expect(heard.map((e) => e.type)).toEqual(['capture.live', 'capture.live']);
		expect(heard[1].stream.getVideoTracks()[0]).toBe(back);
	});

	test('a phone goes back to the front camera by facing', async () => {
		const { devices, capture, until, ctx } = start(phone());
		devices.broken.add('back');
		capture.send({ type: 'camera.start' });
		await until('live');
		capture.send({ type: 'camera.flip' });
		await until('live');
		expect(devices.asked()).toEqual(['facing:user', 'facing:environment', 'facing:user']);
		expect(ctx()).toMatchObject({ facing: 'user', deviceId: null, info: { deviceId: 'front', mirrored: true } });
		expect(ctx().notice?.reason).toBe('flip-failed');
	});

	test('a camera that only opened with relaxed constraints is reopened the same way', async () => {
		const { devices, capture, until } = start(laptop());
		devices.picky.add('cam-a');
		devices.broken.add('cam-b');
		capture.send({ type: 'camera.start' });
		await until('live');
		capture.send({ type: 'camera.flip' });
		await until('live');
		expect(devices.asked()).toEqual(['facing:user', '*', 'cam-b', '*']);
		expect(liveTrack(devices, capture).camera.deviceId).toBe('cam-a');
	});

	test('the notice is cleared by the next flip that works', async () => {
		const { devices, capture, until, ctx } = start(laptop());
		devices.broken.add('cam-b');
		capture.send({ type: 'camera.start' });
		await until('live');
		capture.send({ type: 'camera.flip' });
		await until('live');
		expect(ctx().notice).not.toBeNull();
		devices.broken.clear();
		capture.send({ type: 'camera.flip' });
		await until('live');
		expect(liveTrack(devices, capture).camera.deviceId).toBe('cam-b');
		expect(ctx().notice).toBeNull();
	});

	test('when the old camera cannot be reopened either → failed with that reason; retry reopens the camera that worked', async () => {
		const { devices, heard, capture, until, values, ctx } = start(laptop());
		devices.broken.add('cam-b');
		capture.send({ type: 'camera.start' });
		await until('live');
		devices.failNext = ['NotReadableError', 'NotAllowedError'];
		capture.send({ type: 'camera.flip' });
		await until('failed');
		expect(values.slice(-3)).toEqual(['{"switching":"opening"}', '{"switching":"reverting"}', '"failed"']);
		expect(devices.live()).toEqual([]);
		const failure = { reason: 'permission-denied', message: captureMessages['permission-denied'] };
		expect(ctx().failure).toEqual(failure);
		expect(ctx().notice?.reason).toBe('flip-failed');
		expect(ctx().stream).toBeNull();
		expect(heard.at(-1)).toEqual({ type: 'capture.failed', failure });
		capture.send({ type: 'camera.retry' });
		await until('live');
		expect(devices.asked()).toEqual(['facing:user', 'cam-b', 'facing:user', 'facing:user']);
		expect(liveTrack(devices, capture).camera.deviceId).toBe('cam-a');
		expect(ctx().failure).toBeNull();
	});

	test('a laptop flip that fails twice and is retried by deviceId goes back to that device', async () => {
		const { devices, capture, until } = start([...laptop(), { deviceId: 'cam-c', label: 'Camera C' }]);
		devices.broken.add('cam-c');
		capture.send({ type: 'camera.start' });
		await until('live');
		capture.send({ type: 'camera.flip' });
		await until('live');
		devices.failNext = ['NotReadableError', 'NotReadableError'];
		capture.send({ type: 'camera.flip' });
		await until('failed');
		capture.send({ type: 'camera.start' });
		await until('live');
		expect(devices.asked()).toEqual(['facing:user', 'cam-b', 'cam-c', 'cam-b', 'cam-b']);
		expect(liveTrack(devices, capture).camera.deviceId).toBe('cam-b');
	});
});

describe('capture machine: the camera going away', () => {
	test('a track that ends by itself → failed track-ended, the session hears it; retry reopens the same camera', async () => {
		const { devices, heard, capture, until, ctx } = start(laptop());
		capture.send({ type: 'camera.start' });
		await until('live');
		capture.send({ type: 'camera.flip' });
		await until('live');
		liveTrack(devices, capture).end();
		expect(capture.getSnapshot().value).toBe('failed');
		const failure = { reason: 'track-ended', message: captureMessages['track-ended'] };
		expect(ctx()).toMatchObject({ failure, stream: null, info: null });
		expect(heard.at(-1)).toEqual({ type: 'capture.failed', failure });
		capture.send({ type: 'camera.retry' });
		expect(capture.getSnapshot().value).toBe('acquiring');
		expect(ctx().failure).toBeNull();
		await until('live');
		expect(devices.asked().at(-1)).toBe('cam-b');
		expect(liveTrack(devices, capture).camera.deviceId).toBe('cam-b');
	});

	test('camera.start from failed opens again too', async () => {
		const { devices, capture, until, ctx } = start(laptop());
		devices.failNext = ['NotReadableError'];
		capture.send({ type: 'camera.start' });
		await until('failed');
		capture.send({ type: 'camera.start' });
		expect(capture.getSnapshot().value).toBe('acquiring');
		expect(ctx().failure).toBeNull();
		await until('live');
		liveTrack(devices, capture);
	});

	test('a relaxed camera whose track ends is retried with the preferred constraints first', async () => {
		const { devices, capture, until } = start(laptop());
		devices.failNext = ['OverconstrainedError'];
		capture.send({ type: 'camera.start' });
		await until('live');
		liveTrack(devices, capture).end();
		capture.send({ type: 'camera.retry' });
		await until('live');
		expect(devices.asked()).toEqual(['facing:user', '*', 'facing:user']);
	});

	test('camera.stop releases the camera and says nothing to the session', async () => {
		const { devices, heard, capture, until, ctx } = start(laptop());
		capture.send({ type: 'camera.start' });
		await until('live');
		const track = liveTrack(devices, capture);
		capture.send({ type: 'camera.stop' });
		expect(capture.getSnapshot().value).toEqual({ idle: 'off' });
		expect(track.readyState).toBe('ended');
		expect(ctx()).toMatchObject({ stream: null, info: null });
		expect(heard.map((e) => e.type)).toEqual(['capture.live']);
		// Its track's end no longer reaches the machine.
		track.end();
		expect(capture.getSnapshot().value).toEqual({ idle: 'off' });
	});
});

/**
 * A call opens its microphone (issue 19, 4a). On iOS that request can end the preview's track;
 * on WebKit the call asks for the camera with it and hands the new camera over. The session
 * says `camera.micOpening` when the call enters setup and `call.micOpened { stream }` when the
 * call leaves its microphone step, with the camera stream the call now sends.
 */
describe('capture machine: through the call opening its microphone', () => {
	/** A camera reopened by the call's microphone request, as iOS does it: the open one ends
	 * (firing `ended`), the new one is live. */
	function reopen(h: ReturnType<typeof start>): MediaStream {
		h.devices.live().forEach((t) => t.end());
		const track = new CameraTrack(h.devices.cameras[0], 1280, 720);
		h.devices.tracks.push(track);
		return new CameraStream(track) as unknown as MediaStream;
	}

	test('the old track ends during the request, the reopened camera arrives: kept, the old stopped, the session told; never failed', async () => {
		const h = start(laptop());
		h.capture.send({ type: 'camera.start' });
		await h.until('live');
		const old = liveTrack(h.devices, h.capture);
		h.capture.send({ type: 'camera.micOpening' });
		expect(h.capture.getSnapshot().value).toEqual({ live: 'awaitingMic' });
		const stream = reopen(h);
		expect(old.readyState).toBe('ended');
		expect(h.capture.getSnapshot().value).toEqual({ live: 'trackLost' });
		h.capture.send({ type: 'call.micOpened', stream });
		expect(h.capture.getSnapshot().value).toEqual({ live: 'steady' });
		expect(h.ctx().stream).toBe(stream);
		expect(liveTrack(h.devices, h.capture)).toBe(stream.getVideoTracks()[0]);
		expect(h.heard.map((e) => e.type)).toEqual(['capture.live', 'capture.live']);
		expect(h.heard.at(-1)).toEqual({ type: 'capture.live', stream });
		expect(h.devices.requests).toHaveLength(1);
		// The new track is the one watched now: its end is a real failure again.
		(stream.getVideoTracks()[0] as unknown as CameraTrack).end();
		expect(h.capture.getSnapshot().value).toBe('failed');
	});

	test('the reopened camera arrives while the old one still runs: the old one is stopped only now', async () => {
		const h = start(laptop());
		h.capture.send({ type: 'camera.start' });
		await h.until('live');
		const old = liveTrack(h.devices, h.capture);
		h.capture.send({ type: 'camera.micOpening' });
		const track = new CameraTrack(h.devices.cameras[0], 1280, 720);
		h.devices.tracks.push(track);
		expect(old.readyState).toBe('live');
		h.capture.send({ type: 'call.micOpened', stream: new CameraStream(track) as unknown as MediaStream });
		expect(old.readyState).toBe('ended');
		expect(liveTrack(h.devices, h.capture)).toBe(track);
	});

	test('the track ends and no camera comes with the microphone: the same camera is reopened rather than left black', async () => {
		const h = start(laptop());
		h.capture.send({ type: 'camera.start' });
		await h.until('live');
		h.capture.send({ type: 'camera.flip' });
		await h.until('live');
		const own = h.ctx().stream;
		h.capture.send({ type: 'camera.micOpening' });
		liveTrack(h.devices, h.capture).end();
		expect(h.heard.map((e) => e.type)).not.toContain('capture.failed');
		h.capture.send({ type: 'call.micOpened', stream: own });
		expect(h.capture.getSnapshot().value).toBe('acquiring');
		await h.until('live');
		expect(h.devices.asked().at(-1)).toBe('cam-b');
		liveTrack(h.devices, h.capture);
		expect(h.heard.map((e) => e.type)).toEqual(['capture.live', 'capture.live', 'capture.live']);
	});

	test('the request leaves the track alone: back to steady, nothing reopened, nothing stopped', async () => {
		const h = start(laptop());
		h.capture.send({ type: 'camera.start' });
		await h.until('live');
		const track = liveTrack(h.devices, h.capture);
		h.capture.send({ type: 'camera.micOpening' });
		h.capture.send({ type: 'call.micOpened', stream: h.ctx().stream });
		expect(h.capture.getSnapshot().value).toEqual({ live: 'steady' });
		expect(track.readyState).toBe('live');
		expect(h.devices.requests).toHaveLength(1);
		// Unannounced (the camera went live while the microphone opened): its own stream is
		// never stopped.
		h.capture.send({ type: 'call.micOpened', stream: h.ctx().stream });
		expect(track.readyState).toBe('live');
		expect(h.capture.getSnapshot().value).toEqual({ live: 'steady' });
	});

	test('a reopened camera that comes when none is live (stopped meanwhile) is stopped, not kept', async () => {
		const h = start(laptop());
		h.capture.send({ type: 'camera.start' });
		await h.until('live');
		h.capture.send({ type: 'camera.micOpening' });
		h.capture.send({ type: 'camera.stop' });
		const track = new CameraTrack(h.devices.cameras[0], 1280, 720);
		h.capture.send({ type: 'call.micOpened', stream: new CameraStream(track) as unknown as MediaStream });
		expect(track.readyState).toBe('ended');
		expect(h.capture.getSnapshot().value).toEqual({ idle: 'off' });
	});

	test('outside that request, a track that ends by itself still fails as before', async () => {
		const h = start(laptop());
		h.capture.send({ type: 'camera.start' });
		await h.until('live');
		liveTrack(h.devices, h.capture).end();
		expect(h.capture.getSnapshot().value).toBe('failed');
	});

	/** Every sequence of three steps: after each settles, never two cameras open; live means the
	 * one camera the machine holds (and the session heard of), except while it waits out the
	 * request after its track ended; anything else none; and once the microphone's step is over
	 * the machine no longer waits for it. */
	test('model-based: every sequence of 3 steps keeps one camera, or none, and never waits past the request', async () => {
		const steps: Record<string, (h: ReturnType<typeof start>) => void> = {
			start: (h) => h.capture.send({ type: 'camera.start' }),
			flip: (h) => h.capture.send({ type: 'camera.flip' }),
			stop: (h) => h.capture.send({ type: 'camera.stop' }),
			'mic opening': (h) => h.capture.send({ type: 'camera.micOpening' }),
			'track ends': (h) => h.devices.live().forEach((t) => t.end()),
			'mic opened': (h) => h.capture.send({ type: 'call.micOpened', stream: h.ctx().stream }),
			'mic opened with the camera': (h) => h.capture.send({ type: 'call.micOpened', stream: reopen(h) })
		};
		const names = Object.keys(steps);
		for (const sequence of names.flatMap((a) => names.flatMap((b) => names.map((c) => [a, b, c])))) {
			const h = start(laptop());
			for (const [i, step] of sequence.entries()) {
				const where = sequence.slice(0, i + 1).join(' → ');
				steps[step](h);
				const s = await waitFor(h.capture, (x) => x.matches('idle') || x.matches('live') || x.matches('failed'), { timeout: 1000 });
				expect(h.devices.live().length, where).toBeLessThanOrEqual(1);
				if (s.matches({ live: 'trackLost' })) {
					// Only while the request is still out: its outcome decides what comes next.
					expect(h.devices.live(), where).toEqual([]);
				} else if (s.matches('live')) {
					expect(h.devices.live(), where).toHaveLength(1);
					expect(s.context.stream?.getVideoTracks()[0], where).toBe(h.devices.live()[0]);
					expect(h.heard.at(-1), where).toEqual({ type: 'capture.live', stream: s.context.stream });
				} else {
					expect(h.devices.live(), where).toEqual([]);
				}
				if (step.startsWith('mic opened')) expect(s.matches({ live: 'steady' }) || !s.matches('live'), where).toBe(true);
			}
			h.parent.stop();
		}
	}, 30_000);
});

/**
 * The capture machine with the page's visibility in the test's hands (a fake pageVisibility
 * actor) and the session's `camera.inCall` sent by the test.
 */
function startPaged(cameras: Camera[], { hiddenAtStart = false } = {}) {
	const page = { hidden: hiddenAtStart, hide: () => {}, show: () => {} };
	const machine = captureMachine.provide({
		actors: {
			pageVisibility: fromCallback(({ sendBack }) => {
				page.hide = () => {
					page.hidden = true;
					sendBack({ type: 'page.hidden' });
				};
				page.show = () => {
					page.hidden = false;
					sendBack({ type: 'page.visible' });
				};
				if (hiddenAtStart) sendBack({ type: 'page.hidden' });
				return () => {};
			})
		}
	});
	const h = start(cameras, machine);
	const call = { active: false };
	const inCall = (active: boolean) => {
		call.active = active;
		h.capture.send({ type: 'camera.inCall', inCall: active });
	};
	return { ...h, page, call, inCall };
}

describe('capture machine: the camera only while needed (page hidden)', () => {
	test('hidden outside a call: the track is stopped (idle.suspended); visible again: the same camera reopens and the session hears it', async () => {
		const { devices, heard, capture, page, until, ctx } = startPaged(laptop());
		capture.send({ type: 'camera.start' });
		await until('live');
		capture.send({ type: 'camera.flip' });
		await until('live');
		const before = liveTrack(devices, capture);
		page.hide();
		expect(capture.getSnapshot().value).toEqual({ idle: 'suspended' });
		expect(before.readyState).toBe('ended');
		expect(devices.live()).toEqual([]);
		expect(ctx()).toMatchObject({ stream: null, info: null, failure: null });
		const asked = devices.requests.length;
		page.show();
		expect(capture.getSnapshot().value).toBe('acquiring');
		await until('live');
		expect(devices.requests).toHaveLength(asked + 1);
		const after = liveTrack(devices, capture);
		expect(after).not.toBe(before);
		expect(after.camera.deviceId).toBe('cam-b');
		expect(heard.at(-1)).toEqual({ type: 'capture.live', stream: ctx().stream });
		// Its old track's end (stop() fires none, but an OS might) does not reach the machine.
		before.end();
		expect(capture.getSnapshot().value).toEqual({ live: 'steady' });
	});

	test('in a call the camera stays on while hidden; a call that ends while hidden releases it; visible reopens it', async () => {
		const { devices, capture, page, inCall, until } = startPaged(laptop());
		capture.send({ type: 'camera.start' });
		await until('live');
		const track = liveTrack(devices, capture);
		inCall(true);
		page.hide();
		expect(capture.getSnapshot().value).toEqual({ live: 'steady' });
		expect(track.readyState).toBe('live');
		// Flipping in the background mid-call keeps a camera on too.
		capture.send({ type: 'camera.flip' });
		await until('live');
		expect(liveTrack(devices, capture).camera.deviceId).toBe('cam-b');
		inCall(false);
		expect(capture.getSnapshot().value).toEqual({ idle: 'suspended' });
		expect(devices.live()).toEqual([]);
		page.show();
		await until('live');
		expect(liveTrack(devices, capture).camera.deviceId).toBe('cam-b');
	});

	test('a call that rings while suspended does not open the camera in the background; coming back does', async () => {
		const { devices, capture, page, inCall, until } = startPaged(laptop());
		capture.send({ type: 'camera.start' });
		await until('live');
		page.hide();
		const asked = devices.requests.length;
		inCall(true);
		expect(capture.getSnapshot().value).toEqual({ idle: 'suspended' });
		expect(devices.requests).toHaveLength(asked);
		page.show();
		await until('live');
		liveTrack(devices, capture);
		// Hidden again, still in the call: it stays on.
		page.hide();
		expect(capture.getSnapshot().value).toEqual({ live: 'steady' });
	});

	test('hidden while the camera is still opening: released the moment it opens, never left on', async () => {
		const { devices, capture, page, until } = startPaged(laptop());
		capture.send({ type: 'camera.start' });
		page.hide();
		await waitFor(capture, (s) => s.matches({ idle: 'suspended' }), { timeout: 1000 });
		expect(devices.tracks).toHaveLength(1);
		expect(devices.live()).toEqual([]);
		page.show();
		await until('live');
		liveTrack(devices, capture);
	});

	test('hidden during a flip: the new camera is released as soon as it opens, and reopened when visible', async () => {
		const { devices, capture, page, until } = startPaged(laptop());
		capture.send({ type: 'camera.start' });
		await until('live');
		capture.send({ type: 'camera.flip' });
		page.hide();
		await waitFor(capture, (s) => s.matches({ idle: 'suspended' }), { timeout: 1000 });
		expect(devices.live()).toEqual([]);
		page.show();
		await until('live');
		expect(liveTrack(devices, capture).camera.deviceId).toBe('cam-b');
	});

	test('a page that starts hidden (a background tab): camera.start asks for nothing until it is visible', async () => {
		const { devices, capture, page, until } = startPaged(laptop(), { hiddenAtStart: true });
		capture.send({ type: 'camera.start' });
		expect(capture.getSnapshot().value).toEqual({ idle: 'suspended' });
		expect(devices.requests).toEqual([]);
		page.show();
		await until('live');
		expect(devices.requests).toHaveLength(1);
	});

	test('camera.stop while suspended turns it off: coming back does not reopen it', async () => {
		const { devices, capture, page, until } = startPaged(laptop());
		capture.send({ type: 'camera.start' });
		await until('live');
		page.hide();
		capture.send({ type: 'camera.stop' });
		expect(capture.getSnapshot().value).toEqual({ idle: 'off' });
		page.show();
		expect(capture.getSnapshot().value).toEqual({ idle: 'off' });
		expect(devices.requests).toHaveLength(1);
	});

	test('a camera that cannot reopen after coming back fails with its reason, as any open does', async () => {
		const { devices, heard, capture, page, until, ctx } = startPaged(laptop());
		capture.send({ type: 'camera.start' });
		await until('live');
		page.hide();
		devices.failNext = ['NotReadableError'];
		page.show();
		await until('failed');
		expect(ctx().failure?.reason).toBe('camera-in-use');
		expect(heard.at(-1)).toEqual({ type: 'capture.failed', failure: ctx().failure });
	});
});

describe('pageVisibility actor', () => {
	class FakeDocument extends EventTarget {
		visibilityState: 'visible' | 'hidden' = 'visible';
		set(state: 'visible' | 'hidden') {
			this.visibilityState = state;
			this.dispatchEvent(new Event('visibilitychange'));
		}
	}
	function follow(doc: FakeDocument) {
		vi.stubGlobal('document', doc);
		const heard: string[] = [];
		const parent = createActor(
			setup({ actors: { pageVisibility } }).createMachine({
				invoke: { src: 'pageVisibility' },
				on: { '*': { actions: ({ event }) => heard.push(event.type) } }
			})
		).start();
		return { heard, parent };
	}

	test('reports each visibilitychange, and a page that starts hidden at once; stops listening when stopped', () => {
		const doc = new FakeDocument();
		const { heard, parent } = follow(doc);
		expect(heard).toEqual([]);
		doc.set('hidden');
		doc.set('visible');
		expect(heard).toEqual(['page.hidden', 'page.visible']);
		parent.stop();
		doc.set('hidden');
		expect(heard).toEqual(['page.hidden', 'page.visible']);

		const background = new FakeDocument();
		background.visibilityState = 'hidden';
		expect(follow(background).heard).toEqual(['page.hidden']);
	});
});

/**
 * Every sequence of three things a user, the device or the page can do, with visibility and the
 * call in the mix. After each step the system must hold: never two cameras open; hidden outside
 * a call means no camera open at all; suspended only while hidden; live means exactly one open
 * camera, the one the machine holds and the session last heard of.
 */
describe('capture machine: model-based, visibility and calls, every sequence of 3 steps', () => {
	const steps: Record<string, (h: ReturnType<typeof startPaged>) => void> = {
		start: (h) => h.capture.send({ type: 'camera.start' }),
		flip: (h) => h.capture.send({ type: 'camera.flip' }),
		stop: (h) => h.capture.send({ type: 'camera.stop' }),
		hide: (h) => h.page.hide(),
		show: (h) => h.page.show(),
		'call begins': (h) => h.inCall(true),
		'call ends': (h) => h.inCall(false),
		unplug: (h) => h.devices.live().forEach((t) => t.end())
	};
	const names = Object.keys(steps);
	const sequences = names.flatMap((a) => names.flatMap((b) => names.map((c) => [a, b, c])));

	test('the camera is open only while needed, and never twice', async () => {
		for (const sequence of sequences) {
			const h = startPaged(laptop());
			let mostLive = 0;
			const unsubscribe = h.capture.subscribe(() => (mostLive = Math.max(mostLive, h.devices.live().length)));
			for (const [i, step] of sequence.entries()) {
				const where = sequence.slice(0, i + 1).join(' → ');
				steps[step](h);
				const s = await waitFor(h.capture, (x) => x.matches('idle') || x.matches('live') || x.matches('failed'), { timeout: 1000 });
				mostLive = Math.max(mostLive, h.devices.live().length);
				expect(mostLive, where).toBeLessThanOrEqual(1);
				if (h.page.hidden && !h.call.active) {
					expect(h.devices.live(), where).toEqual([]);
					expect(s.matches('live'), where).toBe(false);
				}
				if (s.matches({ idle: 'suspended' })) expect(h.page.hidden, where).toBe(true);
				if (s.matches('live')) {
					expect(h.devices.live(), where).toHaveLength(1);
					expect(s.context.stream?.getVideoTracks()[0], where).toBe(h.devices.live()[0]);
					expect(h.heard.at(-1), where).toEqual({ type: 'capture.live', stream: s.context.stream });
				} else {
					expect(h.devices.live(), where).toEqual([]);
					expect(s.context.stream, where).toBeNull();
				}
			}
			unsubscribe.unsubscribe();
			h.parent.stop();
		}
	}, 30_000); // hundreds of sequences: seconds on a busy 2-core machine
});

describe('flipTarget', () => {
	const base: CaptureContext = {
		stream: null,
		info: {
			deviceId: 'x',
			label: '',
			width: 0,
			height: 0,
			facing: null,
			mirrored: false,
			controls: { zoom: null, torch: false }
		},
		devices: [...laptop(), { deviceId: 'cam-c', label: 'C' }],
		facing: 'user',
		deviceId: null,
		relaxed: false,
		working: null,
		failure: null,
		notice: null,
		hidden: false,
		inCall: false
	};
	test('next device wraps around; an unknown or missing current starts at the first', () => {
		expect(flipTarget(base)).toEqual({ facing: 'environment', deviceId: 'cam-a' });
		expect(flipTarget({ ...base, info: null })).toEqual({ facing: 'environment', deviceId: 'cam-a' });
		expect(flipTarget({ ...base, info: { ...base.info!, deviceId: 'cam-c' } }).deviceId).toBe('cam-a');
		expect(flipTarget({ ...base, info: { ...base.info!, deviceId: 'cam-a' } }).deviceId).toBe('cam-b');
	});
	test('a phone (two cameras with facing) toggles the facing and asks no device', () => {
		const onPhone = { ...base, devices: laptop(), info: { ...base.info!, facing: 'user' as const } };
		expect(flipTarget(onPhone)).toEqual({ facing: 'environment', deviceId: null });
		expect(flipTarget({ ...onPhone, facing: 'environment' })).toEqual({ facing: 'user', deviceId: null });
	});
});

/**
 * Every sequence of three things a user or the device can do, on a laptop with two cameras.
 * After each step settles, the system must hold the rules (not the chart's own graph): never
 * two cameras open at once; live means exactly one open camera, the one the machine holds and
 * the last one the session heard of; idle and failed mean none, and failed means the session
 * heard why.
 */
describe('capture machine: model-based, every sequence of 3 steps', () => {
	const steps: Record<string, (h: ReturnType<typeof start>) => void> = {
		start: (h) => h.capture.send({ type: 'camera.start' }),
		flip: (h) => h.capture.send({ type: 'camera.flip' }),
		stop: (h) => h.capture.send({ type: 'camera.stop' }),
		retry: (h) => h.capture.send({ type: 'camera.retry' }),
		unplug: (h) => h.devices.live().forEach((t) => t.end()),
		'next open fails': (h) => h.devices.failNext.push('NotReadableError')
	};
	const names = Object.keys(steps);
	const sequences = names.flatMap((a) => names.flatMap((b) => names.map((c) => [a, b, c])));

	test('at most one camera open, and what the session heard matches the state', async () => {
		for (const sequence of sequences) {
			const h = start(laptop());
			let mostLive = 0;
			const unsubscribe = h.capture.subscribe(() => (mostLive = Math.max(mostLive, h.devices.live().length)));
			for (const [i, step] of sequence.entries()) {
				const where = sequence.slice(0, i + 1).join(' → ');
				steps[step](h);
				const s = await waitFor(h.capture, (x) => x.matches('idle') || x.matches('live') || x.matches('failed'), { timeout: 1000 });
				mostLive = Math.max(mostLive, h.devices.live().length);
				expect(mostLive, where).toBeLessThanOrEqual(1);
				const last = h.heard.at(-1);
				if (s.matches('live')) {
					expect(h.devices.live(), where).toHaveLength(1);
					expect(s.context.stream?.getVideoTracks()[0], where).toBe(h.devices.live()[0]);
					expect(last, where).toEqual({ type: 'capture.live', stream: s.context.stream });
					expect(s.context.failure, where).toBeNull();
				} else {
					expect(h.devices.live(), where).toEqual([]);
					expect(s.context.stream, where).toBeNull();
				}
				// Both cameras work unless a step broke an open: then no flip may have failed.
				if (!sequence.slice(0, i + 1).includes('next open fails')) expect(s.context.notice, where).toBeNull();
				if (s.matches('failed')) {
					expect(s.context.failure, where).not.toBeNull();
					expect(last, where).toEqual({ type: 'capture.failed', failure: s.context.failure });
				}
			}
			unsubscribe.unsubscribe();
			h.parent.stop();
		}
	});
});
