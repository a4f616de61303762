/**
 * Zoom and torch from what a track reports (getCapabilities / getSettings), the pinch and slider
 * arithmetic, and the photo settings that match the torch: pure functions, checked against the
 * shapes real cameras report.
 */
import { describe, expect, test } from 'vitest';
import { cameraControls, cameraTuning, fillLightFor, pinchZoom, snapZoom } from '$machines/actors/camera-tuning';
import { photoSettings } from '$machines/actors/photo-io';

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
