/**
 * What the app decides for engines other than Chromium (issue 19): WebKit's IndexedDB refusing
 * Blobs, and WebKit's answer for a device without a camera. The browser tests in
 * tests/browser/webkit.test.ts show the same in the real engine.
 */
import { describe, expect, test } from 'vitest';
import { asBytes, blobRefused, fromStored } from '$machines/actors/photo-io';
import { explainRefusal } from '$machines/actors/media';
import { captureFailure } from '$machines/errors';
import { storageFailure } from '$machines/photo.errors';
import type { PhotoRecord } from '$machines/actors/photo';

const record = (over: Partial<PhotoRecord> = {}): PhotoRecord => ({
	id: 'a1',
	blob: new Blob([new Uint8Array([0xff, 0xd8, 0xff, 1, 2, 3])], { type: 'image/jpeg' }),
	thumb: new Blob([new Uint8Array([0xff, 0xd8, 9])], { type: 'image/jpeg' }),
	name: 'camcall-20261128-101010.jpg',
	type: 'image/jpeg',
	size: 6,
	width: 1280,
	height: 720,
	takenAt: 1_700_000_000_000,
	source: 'camera',
	from: null,
	method: 'video',
	...over
});

const bytesOf = async (b: Blob | null) => (b ? [...new Uint8Array(await b.arrayBuffer())] : null);

describe('photos where IndexedDB refuses Blobs', () => {
	test("WebKit's refusal (UnknownError) and a clone refusal try the bytes form; a full disk does not", () => {
		expect(blobRefused(new DOMException('Error preparing Blob/File data to be stored in object store', 'UnknownError'))).toBe(true);
		expect(blobRefused(new DOMException('could not be cloned', 'DataCloneError'))).toBe(true);
		expect(blobRefused(new DOMException('full', 'QuotaExceededError'))).toBe(false);
		expect(blobRefused(new DOMException('aborted', 'AbortError'))).toBe(false);
		expect(blobRefused(null)).toBe(false);
	});

	test('a full disk still says so, whichever form was being written', () => {
		expect(storageFailure(new DOMException('full', 'QuotaExceededError')).reason).toBe('storage-full');
		expect(storageFailure(new DOMException('x', 'UnknownError')).reason).toBe('storage-failed');
	});

	test('the bytes form keeps every field and the exact bytes, and reads back as Blobs of the right type', async () => {
		const original = record();
		const stored = await asBytes(original);
		expect(stored.blob).toBeInstanceOf(ArrayBuffer);
		expect(stored.thumb).toBeInstanceOf(ArrayBuffer);
		const back = fromStored(structuredClone(stored))!;
		expect(back.blob).toBeInstanceOf(Blob);
		expect(back.blob.type).toBe('image/jpeg');
		expect(back.thumb?.type).toBe('image/jpeg');
		expect(await bytesOf(back.blob)).toEqual(await bytesOf(original.blob));
		expect(await bytesOf(back.thumb)).toEqual(await bytesOf(original.thumb));
		const { blob: _b, thumb: _t, ...rest } = back;
		const { blob: _ob, thumb: _ot, ...restOriginal } = original;
		expect(rest).toEqual(restOriginal);
	});

	test('a PNG stored as bytes comes back as image/png; no thumbnail stays none', async () => {
		const png = record({ blob: new Blob([new Uint8Array([0x89, 0x50])], { type: 'image/png' }), type: 'image/png', thumb: null });
		const back = fromStored(await asBytes(png))!;
		expect(back.blob.type).toBe('image/png');
		expect(back.thumb).toBeNull();
	});

	test('Blob records read back as they are', () => {
		const original = record();
		const back = fromStored(original)!;
		expect(back.blob).toBe(original.blob);
		expect(back.thumb).toBe(original.thumb);
	});

	test('a record holding neither form, or no id or type, is left out rather than breaking the gallery', () => {
		expect(fromStored(null)).toBeNull();
		expect(fromStored('photo')).toBeNull();
		expect(fromStored({ ...record(), blob: 'bytes' })).toBeNull();
		expect(fromStored({ ...record(), blob: new Uint8Array(3) })).toBeNull();
		expect(fromStored({ ...record(), id: 7 })).toBeNull();
		expect(fromStored({ ...record(), type: undefined })).toBeNull();
		// A damaged thumbnail only costs the thumbnail.
		expect(fromStored({ ...record(), thumb: 'x' })?.thumb).toBeNull();
	});
});

describe("WebKit's answer for a device without a camera", () => {
	const overconstrained = Object.assign(new Error('Invalid constraint'), { name: 'OverconstrainedError', constraint: '' });
	const listing = (kinds: MediaDeviceKind[]) => ({
		enumerateDevices: async () => kinds.map((kind) => ({ kind, deviceId: '', groupId: '', label: '' }) as MediaDeviceInfo)
	});

	test('OverconstrainedError with no video input listed means no camera', async () => {
		const err = await explainRefusal(overconstrained, listing(['audioinput']));
		expect(captureFailure(err).reason).toBe('no-camera');
	});

	test('with a camera listed, it stays a constraint the camera cannot meet', async () => {
		const err = await explainRefusal(overconstrained, listing(['videoinput']));
		expect(err).toBe(overconstrained);
		expect(captureFailure(err).reason).toBe('unsupported-constraint');
	});

	test('when the list cannot be read, the original error stands', async () => {
		const err = await explainRefusal(overconstrained, { enumerateDevices: () => Promise.reject(new Error('no')) });
		expect(err).toBe(overconstrained);
	});

	test('other refusals pass through without asking for the list', async () => {
		let asked = false;
		const denied = new DOMException('denied', 'NotAllowedError');
		const err = await explainRefusal(denied, {
			enumerateDevices: async () => {
				asked = true;
				return [];
			}
		});
		expect(err).toBe(denied);
		expect(asked).toBe(false);
	});
});
