/**
 * No reliance on what iOS Safari lacks (issue 19, 4c): navigator.vibrate, BarcodeDetector and
 * ImageCapture. Each use is feature-detected and has a named fallback; here each runs with the
 * API absent (fake globals) and the fallback does the job:
 * - vibrate → nothing to buzz: the ring still sounds (Web Audio), flashes the title and notifies
 *   (alert-io.ts); the shutter still flashes on screen (+page.svelte).
 * - BarcodeDetector → the `qr` package's decoder, with the same API (scan.ts).
 * - ImageCapture → a frame of the track in a detached, muted, inline <video>, drawn on a canvas
 *   and encoded as JPEG (photo-io.ts; the photo machine takes that route on NotSupportedError).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { startRing } from '$machines/actors/alert-io';
import { qrDetector } from '$machines/actors/scan';
import { grabFrame, takePhoto } from '$machines/actors/photo-io';
import { FakeStream, FakeTrack } from './fakes';

const root = path.resolve(import.meta.dirname, '../..');

afterEach(() => {
	vi.useRealTimers();
	vi.unstubAllGlobals();
});

/** A page in the background (so the ring also notifies), with its title. */
function stubDocument() {
	const listeners = new Set<() => void>();
	const doc = {
		title: 'CamCall',
		visibilityState: 'hidden',
		addEventListener: (_: string, f: () => void) => listeners.add(f),
		removeEventListener: (_: string, f: () => void) => listeners.delete(f),
		listeners
	};
	vi.stubGlobal('document', doc);
	return doc;
}

describe('navigator.vibrate', () => {
	test('absent (iOS): ringing neither throws nor stops; the title flashes, and stopping restores it', () => {
		vi.useFakeTimers();
		const doc = stubDocument();
		vi.stubGlobal('navigator', {});
		const stop = startRing({ from: 'alice' });
		vi.advanceTimersByTime(1000);
		expect(doc.title).toBe('📞 alice');
		stop();
		expect(doc.title).toBe('CamCall');
		expect(doc.listeners.size).toBe(0);
	});

	test('present (Android): it buzzes in the ring’s pattern, and stops buzzing when the ring stops', () => {
		vi.useFakeTimers();
		stubDocument();
		const vibrate = vi.fn(() => true);
		vi.stubGlobal('navigator', { vibrate });
		const stop = startRing({ from: 'alice' });
		expect(vibrate).toHaveBeenCalledWith([400, 200, 400, 1200]);
		stop();
		expect(vibrate).toHaveBeenLastCalledWith(0);
	});

	test('every call to it in the app is optional (`vibrate?.(…)`), never a bare call', () => {
		const uses: string[] = [];
		const walk = (dir: string) => {
			for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
				const file = path.join(dir, entry.name);
				if (entry.isDirectory()) walk(file);
				else if (/\.(svelte|ts)$/.test(entry.name)) {
					for (const m of fs.readFileSync(file, 'utf8').matchAll(/navigator\.vibrate\??\.?\(/g)) uses.push(`${path.relative(root, file)}: ${m[0]}`);
				}
			}
		};
		walk(path.join(root, 'src'));
		walk(path.join(root, 'machines'));
		expect(uses.length).toBeGreaterThanOrEqual(2);
		for (const use of uses) expect(use).toMatch(/vibrate\?\.\($/);
	});
});

describe('BarcodeDetector', () => {
	test('absent (iOS Safari, Firefox, headless Chromium): the qr package’s detector reads the codes', async () => {
		vi.stubGlobal('BarcodeDetector', undefined);
		const { BarcodeDetector } = await import('qr/decode.js');
		expect(await qrDetector()).toBeInstanceOf(BarcodeDetector);
	});
});

describe('ImageCapture', () => {
	/** A document whose <video> plays the track and whose canvas encodes a JPEG. */
	function stubMedia() {
		const made: { video?: Record<string, unknown>; drawn: unknown[] } = { drawn: [] };
		vi.stubGlobal('HTMLMediaElement', { HAVE_CURRENT_DATA: 2 });
		vi.stubGlobal('MediaStream', FakeStream);
		vi.stubGlobal('document', {
			createElement: (tag: string) => {
				if (tag === 'video') {
					const video = Object.assign(new EventTarget(), {
						muted: false,
						playsInline: false,
						srcObject: null as unknown,
						readyState: 0,
						videoWidth: 0,
						videoHeight: 0,
						async play() {
							Object.assign(video, { readyState: 2, videoWidth: 1280, videoHeight: 720 });
						},
						pause() {}
					});
					made.video = video as unknown as Record<string, unknown>;
					return video;
				}
				return {
					width: 0,
					height: 0,
					getContext: () => ({ drawImage: (source: unknown) => made.drawn.push(source) }),
					toBlob: (done: (b: Blob) => void, type: string) => done(new Blob(['jpeg'], { type }))
				};
			}
		});
		return made;
	}

	test('absent (iOS Safari, Firefox): takePhoto says NotSupportedError, so the photo machine takes the fallback', async () => {
		vi.stubGlobal('ImageCapture', undefined);
		const stream = new FakeStream([new FakeTrack('video')]) as unknown as MediaStream;
		await expect(takePhoto({ stream })).rejects.toMatchObject({ name: 'NotSupportedError' });
	});

	test('absent: the fallback draws a frame of the track from a detached, muted, inline <video> and encodes a JPEG', async () => {
		vi.stubGlobal('ImageCapture', undefined);
		const made = stubMedia();
		const track = new FakeTrack('video');
		const shot = await grabFrame({ stream: new FakeStream([track]) as unknown as MediaStream });
		expect(shot).toMatchObject({ method: 'video', width: 1280, height: 720 });
		expect(shot.blob.type).toBe('image/jpeg');
		expect(made.video).toMatchObject({ muted: true, playsInline: true, srcObject: null });
		expect(made.drawn).toEqual([made.video]);
		// Only the element let go: the track is still the camera's.
		expect(track.readyState).toBe('live');
	});
});
