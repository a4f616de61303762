/**
 * Zoom and torch from what a track reports (getCapabilities / getSettings), the pinch and slider
 * arithmetic, and the photo settings that match the torch: pure functions, checked against the
 * shapes real cameras report. Then the tuning machine with its real tuner over a fake track
 * whose applyConstraints takes a moment, as a camera's does.
 */
import { describe, expect, test } from 'vitest';
import { createActor, waitFor } from 'xstate';
import { cameraControls, type CameraControls } from '$machines/actors/camera-caps';
import { cameraTuning, fillLightFor, pinchZoom, snapZoom } from '$machines/actors/camera-tuning';
import { photoSettings } from '$machines/actors/photo-io';
import { tuningMachine } from '$machines/tuning.machine';

describe('cameraControls: capabilities → the controls to show', () => {
	test('an Android back camera: zoom range and torch', () => {
		expect(
			cameraControls({ width: { min: 1, max: 4000 }, zoom: { min: 1, max: 8, step: 0.1 }, torch: true, facingMode: ['environment'] })
		).toEqual({ zoom: { min: 1, max: 8, step: 0.1 }, torch: true });
	});
	test('a laptop, the test browser, Firefox (no getCapabilities), garbage: nothing', () => {
		expect(cameraControls({ width: { min: 1, max: 1920 }, facingMode: [] })).toEqual({ zoom: null, torch: false });
		expect(cameraControls(undefined)).toEqual({ zoom: null, torch: false });
		expect(cameraControls(null)).toEqual({ zoom: null, torch: false });
		expect(cameraControls('zoom')).toEqual({ zoom: null, torch: false });
	});
	test('a zoom with no range (min = max) is no zoom; torch false is no torch', () => {
		expect(cameraControls({ zoom: { min: 1, max: 1, step: 0.1 }, torch: false })).toEqual({ zoom: null, torch: false });
		expect(cameraControls({ zoom: { min: 1 }, torch: 'yes' })).toEqual({ zoom: null, torch: false });
	});
	test('torch reported as a list of values; a zoom without a step gets a hundredth of its range', () => {
		expect(cameraControls({ torch: [false, true] }).torch).toBe(true);
		expect(cameraControls({ torch: [false] }).torch).toBe(false);
		expect(cameraControls({ zoom: { min: 1, max: 5 } }).zoom).toEqual({ min: 1, max: 5, step: 0.04 });
		expect(cameraControls({ zoom: { min: 1, max: 5, step: 0 } }).zoom).toEqual({ min: 1, max: 5, step: 0.04 });
	});
});

describe('cameraTuning: settings → what the controls show', () => {
	const both = { zoom: { min: 1, max: 8, step: 0.1 }, torch: true };
	test('the track’s zoom and torch, where it has them', () => {
		expect(cameraTuning({ zoom: 2.5, torch: true }, both)).toEqual({ zoom: 2.5, torch: true });
		expect(cameraTuning({}, both)).toEqual({ zoom: 1, torch: false });
		expect(cameraTuning({ zoom: 2, torch: true }, { zoom: null, torch: false })).toEqual({ zoom: null, torch: false });
	});
});

describe('zoom arithmetic', () => {
	const range = { min: 1, max: 8, step: 0.1 };
	test('snapZoom keeps to the range and its steps, without float dust', () => {
		expect(snapZoom(range, 2.53)).toBe(2.5);
		expect(snapZoom(range, 1.26)).toBe(1.3);
		expect(snapZoom(range, 0.2)).toBe(1);
		expect(snapZoom(range, 99)).toBe(8);
		expect(snapZoom(range, Number.NaN)).toBe(1);
		expect(snapZoom({ min: 1, max: 10, step: 3 }, 9.9)).toBe(10);
	});
	test('pinchZoom scales the zoom at the start by the spread of the fingers', () => {
		expect(pinchZoom(range, 2, 100, 200)).toBe(4);
		expect(pinchZoom(range, 2, 200, 100)).toBe(1);
		expect(pinchZoom(range, 4, 100, 1000)).toBe(8);
		expect(pinchZoom(range, 2, 0, 100)).toBe(2);
	});
});

describe('photo settings that match the torch', () => {
	test('fillLightFor: flash with the torch on, off with it off, only where the camera offers it', () => {
		expect(fillLightFor(true, ['auto', 'off', 'flash'])).toBe('flash');
		expect(fillLightFor(false, ['auto', 'off', 'flash'])).toBe('off');
		expect(fillLightFor(true, ['off'])).toBeUndefined();
		expect(fillLightFor(true, undefined)).toBeUndefined();
		expect(fillLightFor(false, [])).toBeUndefined();
	});
	test('photoSettings: the largest size and the matching fill light; nothing to ask without capabilities', () => {
		const phone = { imageWidth: { max: 4000 }, imageHeight: { max: 3000 }, fillLightMode: ['auto', 'off', 'flash'] };
		expect(photoSettings(phone, true)).toEqual({ imageWidth: 4000, imageHeight: 3000, fillLightMode: 'flash' });
		expect(photoSettings(phone, false)).toEqual({ imageWidth: 4000, imageHeight: 3000, fillLightMode: 'off' });
		// Chromium's fake camera: a size, no fill light.
		expect(photoSettings({ imageWidth: { max: 640 }, imageHeight: { max: 480 }, fillLightMode: [] }, false)).toEqual({ imageWidth: 640, imageHeight: 480 });
		expect(photoSettings({ fillLightMode: ['flash'] }, true)).toEqual({ fillLightMode: 'flash' });
		expect(photoSettings(null, true)).toBeUndefined();
	});
});

/** A camera track with zoom and torch; applyConstraints records and takes a tick. */
class TunableTrack {
	readonly kind = 'video';
	zoom = 1;
	torch = false;
	applied: unknown[] = [];
	constructor(private readonly refuseTorch = false) {}
	getSettings() {
		return { deviceId: 'back', zoom: this.zoom, torch: this.torch };
	}
	async applyConstraints(constraints: { advanced?: { zoom?: number; torch?: boolean }[] }) {
		this.applied.push(constraints);
		await new Promise((r) => setTimeout(r, 1));
		for (const set of constraints.advanced ?? []) {
			if (set.torch !== undefined && this.refuseTorch) throw Object.assign(new Error('torch busy'), { name: 'NotReadableError' });
			if (set.zoom !== undefined) this.zoom = set.zoom;
			if (set.torch !== undefined) this.torch = set.torch;
		}
	}
}

const back: CameraControls = { zoom: { min: 1, max: 8, step: 0.1 }, torch: true };

function tune(track: TunableTrack, controls: CameraControls = back) {
	const stream = { getVideoTracks: () => [track] } as unknown as MediaStream;
	const actor = createActor(tuningMachine, { input: { stream, controls } }).start();
	return { actor, ctx: () => actor.getSnapshot().context };
}

describe('tuning machine: zoom and torch on the live track', () => {
	test('starts from what the track reports; each change reaches it with applyConstraints, on its steps', async () => {
		const track = new TunableTrack();
		track.zoom = 2;
		const { actor, ctx } = tune(track);
		expect(ctx()).toMatchObject({ zoom: 2, torch: false });
		actor.send({ type: 'camera.zoom', zoom: 2.53 });
		expect(ctx().zoom).toBe(2.5);
		await waitFor(actor, () => track.zoom === 2.5, { timeout: 1000 });
		actor.send({ type: 'camera.torch', on: true });
		expect(ctx().torch).toBe(true);
		await waitFor(actor, () => track.torch, { timeout: 1000 });
		expect(track.applied).toEqual([{ advanced: [{ zoom: 2.5 }] }, { advanced: [{ torch: true }] }]);
		// Beyond the range: the largest zoom.
		actor.send({ type: 'camera.zoom', zoom: 50 });
		await waitFor(actor, () => track.zoom === 8, { timeout: 1000 });
		await waitFor(actor, (s) => s.context.zoom === 8 && s.context.torch, { timeout: 1000 });
		actor.stop();
	});

	test('a pinch sends zooms faster than the camera takes them: one at a time, and the newest wins', async () => {
		const track = new TunableTrack();
		const { actor, ctx } = tune(track);
		for (const zoom of [1.5, 2, 2.5, 3, 3.5]) actor.send({ type: 'camera.zoom', zoom });
		await waitFor(actor, () => track.zoom === 3.5, { timeout: 1000 });
		expect(track.applied).toEqual([{ advanced: [{ zoom: 1.5 }] }, { advanced: [{ zoom: 3.5 }] }]);
		await new Promise((r) => setTimeout(r, 5));
		expect(ctx().zoom).toBe(3.5);
		actor.stop();
	});

	test('a torch the camera refuses (another app holds it) falls back to what the track reports: off', async () => {
		const track = new TunableTrack(true);
		const { actor, ctx } = tune(track);
		actor.send({ type: 'camera.torch', on: true });
		expect(ctx().torch).toBe(true);
		await waitFor(actor, (s) => !s.context.torch, { timeout: 1000 });
		expect(track.torch).toBe(false);
		actor.stop();
	});

	test('a camera with only a torch refuses zoom, and one with only zoom refuses the torch, without touching the track', async () => {
		const torchOnly = new TunableTrack();
		const a = tune(torchOnly, { zoom: null, torch: true });
		expect(a.ctx().zoom).toBeNull();
		expect(a.actor.getSnapshot().can({ type: 'camera.zoom', zoom: 2 })).toBe(false);
		a.actor.send({ type: 'camera.zoom', zoom: 2 });
		const zoomOnly = new TunableTrack();
		const b = tune(zoomOnly, { zoom: back.zoom, torch: false });
		expect(b.actor.getSnapshot().can({ type: 'camera.torch', on: true })).toBe(false);
		b.actor.send({ type: 'camera.torch', on: true });
		await new Promise((r) => setTimeout(r, 10));
		expect(torchOnly.applied).toEqual([]);
		expect(zoomOnly.applied).toEqual([]);
		expect(b.ctx().torch).toBe(false);
	});

	test('before the track says anything (no track): the smallest zoom, the torch off', () => {
		const stream = { getVideoTracks: () => [] } as unknown as MediaStream;
		const actor = createActor(tuningMachine, { input: { stream, controls: back } }).start();
		expect(actor.getSnapshot().context).toMatchObject({ zoom: 1, torch: false });
		const torchOnly = createActor(tuningMachine, { input: { stream, controls: { zoom: null, torch: true } } }).start();
		expect(torchOnly.getSnapshot().context).toMatchObject({ zoom: null, torch: false });
	});

	test('stopped (the track changed): a change still in flight reports nothing afterwards', async () => {
		const track = new TunableTrack();
		const { actor, ctx } = tune(track);
		actor.send({ type: 'camera.zoom', zoom: 3 });
		actor.stop();
		await new Promise((r) => setTimeout(r, 10));
		expect(ctx().zoom).toBe(3);
		expect(actor.getSnapshot().status).toBe('stopped');
	});
});
