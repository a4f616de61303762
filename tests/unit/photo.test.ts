import { describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, fromPromise, SimulatedClock, waitFor } from 'xstate';
import type { DataConnection, Peer } from 'peerjs';
import { photoMachine } from '$machines/photo.machine';
import {
	isPhotoOffer,
	photoLimits,
	replyPhoto,
	type CheckedPhoto,
	type PhotoOffer,
	type PhotoRecord,
	type SavePhotoInput,
	type Shot
} from '$machines/actors/photo';
import { chunkBytes, highWater, startReceive, startSend } from '$machines/actors/photo-io';
import { allStatePaths, domError, replayShortestPaths, videoStream } from './fakes';

const shot = (method: Shot['method'] = 'takePhoto'): Shot => ({
	blob: new Blob([new Uint8Array([1, 2, 3])], { type: method === 'takePhoto' ? 'image/png' : 'image/jpeg' }),
	width: 1280,
	height: 720,
	method,
	takenAt: 1000
});

let nextId = 0;
const record = (over: Partial<PhotoRecord> = {}): PhotoRecord => ({
	id: `p${++nextId}`,
	blob: new Blob([new Uint8Array(10)], { type: 'image/png' }),
	thumb: null,
	name: 'camcall.png',
	type: 'image/png',
	size: 10,
	width: 1280,
	height: 720,
	takenAt: 2000 + nextId,
	source: 'camera',
	from: null,
	method: 'takePhoto',
	...over
});

const never = <T>() => new Promise<T>(() => {});

interface Fakes {
	take?: () => Promise<Shot>;
	grab?: () => Promise<Shot>;
	save?: (input: SavePhotoInput) => Promise<PhotoRecord>;
	load?: () => Promise<PhotoRecord[]>;
	remove?: (id: string) => Promise<string>;
	check?: (blob: Blob) => Promise<CheckedPhoto>;
	clock?: SimulatedClock;
}

/** What the fake check says of any bytes: a 4×3 PNG. */
const checkedPng = async (blob: Blob): Promise<CheckedPhoto> => ({ blob: new Blob([blob], { type: 'image/png' }), type: 'image/png', width: 4, height: 3 });

/** The photo machine with fake actors; the send/receive actors hand their sendBack out. */
function setup(fakes: Fakes = {}) {
	const calls = { take: 0, grab: 0, removed: [] as string[], persisted: [] as string[][], saves: [] as SavePhotoInput[], sendInputs: [] as unknown[], receiveInputs: [] as unknown[] };
	/** Every answer the receiver gave, in order: to an offer at once, or to the one it held. */
	const replies: { conn: DataConnection | undefined; reply: string }[] = [];
	let sendBack: ((e: { type: string }) => void) | null = null;
	let receiveBack: ((e: { type: string }) => void) | null = null;
	let askBack: ((e: { type: string }) => void) | null = null;
	const machine = photoMachine.provide({
		actors: {
			takePhoto: fromPromise(async () => {
				calls.take++;
				return (fakes.take ?? (async () => shot()))();
			}),
			grabFrame: fromPromise(async () => {
				calls.grab++;
				return (fakes.grab ?? (async () => shot('video')))();
			}),
			savePhoto: fromPromise(async ({ input }: { input: SavePhotoInput }) => {
				calls.saves.push(input);
				return (fakes.save ?? (async (i: SavePhotoInput) => record({ blob: i.blob, source: i.source, from: i.from, method: i.method })))(input);
			}),
			loadPhotos: fromPromise(async () => (fakes.load ?? (async () => []))()),
			deletePhoto: fromPromise(async ({ input }: { input: { ids: string[] } }) => {
				for (const id of input.ids) {
					await (fakes.remove ?? (async (id: string) => id))(id);
					calls.removed.push(id);
				}
				return input.ids;
			}),
			sendPhoto: fromCallback(({ sendBack: back, input }) => {
				calls.sendInputs.push(input);
				sendBack = back;
				return () => (sendBack = null);
			}),
			receivePhoto: fromCallback(({ sendBack: back, input }) => {
				calls.receiveInputs.push(input);
				receiveBack = back;
				return () => (receiveBack = null);
			}),
			askAboutOffer: fromCallback(({ sendBack: back }) => {
				askBack = back;
				return () => (askBack = null);
			}),
			checkPhoto: fromPromise(async ({ input }: { input: { blob: Blob } }) => (fakes.check ?? checkedPng)(input.blob))
		},
		actions: {
			persistTrash: ({ context }) => calls.persisted.push([...context.trash]),
			refuseOffer: ({ event }, why) => replies.push({ conn: (event as { conn?: DataConnection }).conn, reply: why as string }),
			replyIncoming: ({ context }, reply) => replies.push({ conn: context.incoming?.conn, reply: reply as string })
		}
	});
	const actor = createActor(machine, fakes.clock ? { clock: fakes.clock } : {}).start();
	return {
		actor,
		calls,
		replies,
		fromSender: (e: { type: string } & Record<string, unknown>) => sendBack?.(e),
		fromReceiver: (e: { type: string } & Record<string, unknown>) => receiveBack?.(e),
		fromAsk: (e: { type: string }) => askBack?.(e)
	};
}

const peer = { id: 'me' } as unknown as Peer;
const offer = (size = 3): PhotoOffer => ({ callId: 'call-1', name: 'x.png', size, type: 'image/png' });
const fakeConn = () => ({ peer: 'friend' }) as unknown as DataConnection;

describe('photo machine: shutter', () => {
	test('no camera → the shutter is off; a stream turns it on', async () => {
		const { actor } = setup();
		expect(actor.getSnapshot().can({ type: 'photo.take' })).toBe(false);
		actor.send({ type: 'photo.take' });
		expect(actor.getSnapshot().matches({ shutter: 'idle' })).toBe(true);
		actor.send({ type: 'photo.stream', stream: videoStream() });
		expect(actor.getSnapshot().can({ type: 'photo.take' })).toBe(true);
	});

	test('takePhoto → saving → saved; the photo is listed first and the shutter is off while taking', async () => {
		let resolveTake!: (s: Shot) => void;
		const { actor, calls } = setup({ take: () => new Promise((r) => (resolveTake = r)), load: async () => [record()] });
		await waitFor(actor, (s) => s.matches({ library: 'ready' }));
		actor.send({ type: 'photo.stream', stream: videoStream() });
		actor.send({ type: 'photo.take' });
		expect(actor.getSnapshot().matches({ shutter: { taking: 'imageCapture' } })).toBe(true);
		expect(actor.getSnapshot().can({ type: 'photo.take' })).toBe(false);
		expect(actor.getSnapshot().context.shots).toBe(1);
		resolveTake(shot());
		await waitFor(actor, (s) => s.matches({ shutter: 'saved' }));
		const { photos, lastSaved, pending } = actor.getSnapshot().context;
		expect(photos).toHaveLength(2);
		expect(photos[0].id).toBe(lastSaved);
		expect(pending).toBeNull();
		expect(calls).toMatchObject({ take: 1, grab: 0 });
		expect(calls.saves[0]).toMatchObject({ source: 'camera', from: null, width: 1280, height: 720, method: 'takePhoto' });
		expect(actor.getSnapshot().can({ type: 'photo.take' })).toBe(true);
	});

	test('no ImageCapture (NotSupportedError) → the fallback takes the photo, saved as JPEG', async () => {
		const { actor, calls } = setup({
			take: async () => {
				throw domError('NotSupportedError');
			}
		});
		actor.send({ type: 'photo.stream', stream: videoStream() });
		actor.send({ type: 'photo.take' });
		await waitFor(actor, (s) => s.matches({ shutter: 'saved' }));
		expect(calls).toMatchObject({ take: 1, grab: 1 });
		expect(calls.saves[0].method).toBe('video');
		expect(calls.saves[0].blob.type).toBe('image/jpeg');
	});

	test('a track that is no longer live fails with not-live, without trying the fallback', async () => {
		const { actor, calls } = setup({
			take: async () => {
				throw domError('NotLiveError');
			}
		});
		actor.send({ type: 'photo.stream', stream: videoStream() });
		actor.send({ type: 'photo.take' });
		await waitFor(actor, (s) => s.matches({ shutter: 'failed' }));
		expect(actor.getSnapshot().context.shutterFailure?.reason).toBe('not-live');
		expect(calls.grab).toBe(0);
	});

	test('both routes fail → capture-failed with a message; dismiss returns to idle', async () => {
		const { actor } = setup({
			take: async () => {
				throw domError('UnknownError');
			},
			grab: async () => {
				throw domError('EncodingError');
			}
		});
		actor.send({ type: 'photo.stream', stream: videoStream() });
		actor.send({ type: 'photo.take' });
		await waitFor(actor, (s) => s.matches({ shutter: 'failed' }));
		expect(actor.getSnapshot().context.shutterFailure).toMatchObject({ reason: 'capture-failed', message: expect.any(String) });
		actor.send({ type: 'photo.dismiss' });
		expect(actor.getSnapshot().matches({ shutter: 'idle' })).toBe(true);
	});

	test('storage full: failed storage-full, saved photos untouched, the shot kept; retry saves it', async () => {
		const saved = [record(), record()];
		let full = true;
		const { actor } = setup({
			load: async () => saved,
			save: async (input) => {
				if (full) throw domError('QuotaExceededError');
				return record({ blob: input.blob });
			}
		});
		await waitFor(actor, (s) => s.matches({ library: 'ready' }));
		actor.send({ type: 'photo.stream', stream: videoStream() });
		actor.send({ type: 'photo.take' });
		await waitFor(actor, (s) => s.matches({ shutter: 'failed' }));
		const ctx = actor.getSnapshot().context;
		expect(ctx.shutterFailure?.reason).toBe('storage-full');
		expect(ctx.shutterFailure?.message).toMatch(/full/);
		expect(ctx.photos.map((p) => p.id)).toEqual(saved.map((p) => p.id).sort().reverse());
		expect(ctx.pending?.blob).toBeInstanceOf(Blob);

		full = false;
		actor.send({ type: 'photo.retrySave' });
		await waitFor(actor, (s) => s.matches({ shutter: 'saved' }));
		expect(actor.getSnapshot().context.photos).toHaveLength(3);
		expect(actor.getSnapshot().context.shutterFailure).toBeNull();
	});

	test('any other storage error → storage-failed', async () => {
		const { actor } = setup({
			save: async () => {
				throw domError('UnknownError');
			}
		});
		actor.send({ type: 'photo.stream', stream: videoStream() });
		actor.send({ type: 'photo.take' });
		await waitFor(actor, (s) => s.matches({ shutter: 'failed' }));
		expect(actor.getSnapshot().context.shutterFailure?.reason).toBe('storage-failed');
	});

	test('a camera that never answers: shotTimeout (simulated clock) → capture-failed', () => {
		const clock = new SimulatedClock();
		const { actor } = setup({ clock, take: never });
		actor.send({ type: 'photo.stream', stream: videoStream() });
		actor.send({ type: 'photo.take' });
		clock.increment(9_999);
		expect(actor.getSnapshot().matches({ shutter: 'taking' })).toBe(true);
		clock.increment(1);
		expect(actor.getSnapshot().matches({ shutter: 'failed' })).toBe(true);
		expect(actor.getSnapshot().context.shutterFailure?.reason).toBe('capture-failed');
	});
});

describe('photo machine: library', () => {
	test('loads newest first, keeps a photo saved while loading, deletes after the undo window', async () => {
		let resolveLoad!: (list: PhotoRecord[]) => void;
		const older = record({ takenAt: 1 });
		const clock = new SimulatedClock();
		const { actor, calls } = setup({ clock, load: () => new Promise((r) => (resolveLoad = r)) });
		actor.send({ type: 'photo.stream', stream: videoStream() });
		actor.send({ type: 'photo.take' });
		await waitFor(actor, (s) => s.matches({ shutter: 'saved' }));
		resolveLoad([older]);
		await waitFor(actor, (s) => s.matches({ library: 'ready' }));
		const photos = actor.getSnapshot().context.photos;
		expect(photos).toHaveLength(2);
		expect(photos[1].id).toBe(older.id);

		expect(actor.getSnapshot().can({ type: 'photo.delete', id: 'nope' })).toBe(false);
		actor.send({ type: 'photo.delete', id: older.id });
		expect(actor.getSnapshot().matches({ library: 'trashed' })).toBe(true);
		expect(actor.getSnapshot().context.trash).toEqual([older.id]);
		// Twice is once.
		expect(actor.getSnapshot().can({ type: 'photo.delete', id: older.id })).toBe(false);
		clock.increment(4_999);
		expect(calls.removed).toEqual([]);
		clock.increment(1);
		expect(actor.getSnapshot().matches({ library: 'deleting' })).toBe(true);
		await waitFor(actor, (s) => s.matches({ library: 'ready' }));
		expect(calls.removed).toEqual([older.id]);
		expect(actor.getSnapshot().context.photos.map((p) => p.id)).not.toContain(older.id);
		expect(actor.getSnapshot().context.trash).toEqual([]);
	});

	test('undo within the window keeps every photo deleted in it; each delete restarts the window', async () => {
		const [a, b, c] = [record({ id: 'a' }), record({ id: 'b' }), record({ id: 'c' })];
		const clock = new SimulatedClock();
		const { actor, calls } = setup({ clock, load: async () => [a, b, c] });
		await waitFor(actor, (s) => s.matches({ library: 'ready' }));
		expect(actor.getSnapshot().can({ type: 'photo.undoDelete' })).toBe(false);
		actor.send({ type: 'photo.delete', id: 'a' });
		clock.increment(4_000);
		actor.send({ type: 'photo.delete', id: 'b' });
		clock.increment(4_000);
		expect(actor.getSnapshot().context.trash).toEqual(['a', 'b']);
		actor.send({ type: 'photo.undoDelete' });
		expect(actor.getSnapshot().matches({ library: 'ready' })).toBe(true);
		expect(actor.getSnapshot().context.trash).toEqual([]);
		clock.increment(10_000);
		expect(calls.removed).toEqual([]);
		expect(actor.getSnapshot().context.photos.map((p) => p.id).sort()).toEqual(['a', 'b', 'c']);
		// Without undo, both go together.
		actor.send({ type: 'photo.delete', id: 'c' });
		actor.send({ type: 'photo.delete', id: 'a' });
		clock.increment(5_000);
		await waitFor(actor, (s) => s.matches({ library: 'ready' }));
		expect(calls.removed).toEqual(['c', 'a']);
		// Remembered past a page close at each step, forgotten once undone or removed.
		expect(calls.persisted).toEqual([['a'], ['a', 'b'], [], ['c'], ['c', 'a'], []]);
		expect(actor.getSnapshot().context.photos.map((p) => p.id)).toEqual(['b']);
	});

	test('a failed delete keeps the photo listed with a reason; a failed load can be retried', async () => {
		const one = record();
		let loads = 0;
		const clock = new SimulatedClock();
		const { actor } = setup({
			clock,
			load: async () => {
				if (loads++ === 0) throw domError('InvalidStateError');
				return [one];
			},
			remove: async () => {
				throw domError('UnknownError');
			}
		});
		await waitFor(actor, (s) => s.matches({ library: 'failed' }));
		expect(actor.getSnapshot().context.libraryFailure?.reason).toBe('storage-failed');
		actor.send({ type: 'photo.reload' });
		await waitFor(actor, (s) => s.matches({ library: 'ready' }));
		actor.send({ type: 'photo.delete', id: one.id });
		clock.increment(5_000);
		await waitFor(actor, (s) => s.matches({ library: 'ready' }) && !!s.context.libraryFailure);
		expect(actor.getSnapshot().context.photos).toHaveLength(1);
	});
});

describe('photo machine: sending and receiving', () => {
	test('send without a connected call → not-in-call; an unknown photo → not-found', async () => {
		const { actor } = setup();
		actor.send({ type: 'photo.send', photoId: 'x', peer: null, to: null, callId: null });
		expect(actor.getSnapshot().matches({ outbox: 'failed' })).toBe(true);
		expect(actor.getSnapshot().context.sendFailure?.reason).toBe('not-in-call');
		actor.send({ type: 'photo.send', photoId: 'x', peer, to: 'friend', callId: 'c' });
		expect(actor.getSnapshot().context.sendFailure?.reason).toBe('not-found');
	});

	test('connecting → transferring with progress → sent', async () => {
		const photo = record({ size: 1000 });
		const { actor, calls, fromSender } = setup({ load: async () => [photo] });
		await waitFor(actor, (s) => s.matches({ library: 'ready' }));
		actor.send({ type: 'photo.send', photoId: photo.id, peer, to: 'friend', callId: 'call-1' });
		expect(actor.getSnapshot().matches({ outbox: { sending: 'connecting' } })).toBe(true);
		expect(calls.sendInputs[0]).toMatchObject({ peer, to: 'friend', callId: 'call-1', photo: { id: photo.id } });
		fromSender({ type: 'photo.sendOpen' });
		fromSender({ type: 'photo.sendProgress', sent: 400, total: 1000 });
		expect(actor.getSnapshot().matches({ outbox: { sending: 'transferring' } })).toBe(true);
		expect(actor.getSnapshot().context.outgoing).toMatchObject({ sent: 400, total: 1000 });
		fromSender({ type: 'photo.sent' });
		expect(actor.getSnapshot().matches({ outbox: 'sent' })).toBe(true);
		expect(actor.getSnapshot().context.outgoing?.sent).toBe(1000);
	});

	test('no "ready" within connectTimeout → peer-unreachable; progress keeps a transfer alive past transferStall', async () => {
		const clock = new SimulatedClock();
		const photo = record();
		const { actor, fromSender } = setup({ clock, load: async () => [photo] });
		await waitFor(actor, (s) => s.matches({ library: 'ready' }));
		actor.send({ type: 'photo.send', photoId: photo.id, peer, to: 'friend', callId: 'c' });
		clock.increment(10_000);
		expect(actor.getSnapshot().context.sendFailure?.reason).toBe('peer-unreachable');

		actor.send({ type: 'photo.send', photoId: photo.id, peer, to: 'friend', callId: 'c' });
		fromSender({ type: 'photo.sendOpen' });
		clock.increment(14_000);
		fromSender({ type: 'photo.sendProgress', sent: 5, total: 10 });
		clock.increment(14_000);
		expect(actor.getSnapshot().matches({ outbox: { sending: 'transferring' } })).toBe(true);
		clock.increment(1_000);
		expect(actor.getSnapshot().matches({ outbox: 'failed' })).toBe(true);
		expect(actor.getSnapshot().context.sendFailure?.reason).toBe('transfer-failed');
	});

	/** Offers one photo and, for the first of a call, says yes when asked. */
	function acceptFirst(t: ReturnType<typeof setup>, conn = fakeConn(), o = offer()) {
		t.actor.send({ type: 'photo.incoming', conn, from: 'friend', offer: o });
		if (t.actor.getSnapshot().matches({ inbox: 'asking' })) t.actor.send({ type: 'photo.acceptPeer' });
		return conn;
	}

	test('the first photo of a call asks; accepted, it is received, checked, stored as received, then the sender hears "done"', async () => {
		const t = setup();
		const conn = fakeConn();
		t.actor.send({ type: 'photo.incoming', conn, from: 'friend', offer: offer(3) });
		expect(t.actor.getSnapshot().matches({ inbox: 'asking' })).toBe(true);
		expect(t.calls.receiveInputs).toHaveLength(0);
		const other = fakeConn();
		t.actor.send({ type: 'photo.incoming', conn: other, from: 'friend', offer: offer(3) });
		expect(t.replies).toEqual([{ conn: other, reply: 'busy' }]);

		t.actor.send({ type: 'photo.acceptPeer' });
		expect(t.actor.getSnapshot().matches({ inbox: 'receiving' })).toBe(true);
		expect(t.calls.receiveInputs[0]).toMatchObject({ conn, offer: offer(3) });
		t.fromReceiver({ type: 'photo.receiveProgress', received: 2, total: 3 });
		expect(t.actor.getSnapshot().context.incoming?.received).toBe(2);
		const blob = new Blob([new Uint8Array([7, 8, 9])], { type: 'text/html' });
		t.fromReceiver({ type: 'photo.received', blob });
		await waitFor(t.actor, (s) => s.matches({ inbox: 'received' }));
		// Stored as what the check found (type and size), never under the sender's name.
		const saved = t.calls.saves.at(-1)!;
		expect(saved).toMatchObject({ source: 'received', from: 'friend', width: 4, height: 3 });
		expect(saved.blob.type).toBe('image/png');
		expect(saved.name).toBeUndefined();
		const ctx = t.actor.getSnapshot().context;
		expect(ctx.photos[0]).toMatchObject({ id: ctx.lastReceived, source: 'received', from: 'friend' });
		expect(t.replies.at(-1)).toEqual({ conn, reply: 'done' });
		expect(ctx.callPhotos).toEqual({ callId: 'call-1', consent: 'accepted', count: 1, bytes: 3 });

		// Accepted for this call: the next photo is received without asking.
		t.actor.send({ type: 'photo.incoming', conn: fakeConn(), from: 'friend', offer: offer(5) });
		expect(t.actor.getSnapshot().matches({ inbox: 'receiving' })).toBe(true);
		// A new call asks again.
		t.fromReceiver({ type: 'photo.receiveFailed' });
		t.actor.send({ type: 'photo.incoming', conn: fakeConn(), from: 'friend', offer: { ...offer(5), callId: 'call-2' } });
		expect(t.actor.getSnapshot().matches({ inbox: 'asking' })).toBe(true);
	});

	test('declined: the sender is told, later photos of that call are refused without asking; the sender giving up or no answer ends the question', () => {
		const clock = new SimulatedClock();
		const t = setup({ clock });
		const first = fakeConn();
		t.actor.send({ type: 'photo.incoming', conn: first, from: 'friend', offer: offer() });
		t.actor.send({ type: 'photo.declinePeer' });
		expect(t.actor.getSnapshot().matches({ inbox: 'idle' })).toBe(true);
		const second = fakeConn();
		t.actor.send({ type: 'photo.incoming', conn: second, from: 'friend', offer: offer() });
		expect(t.replies).toEqual([
			{ conn: first, reply: 'declined' },
			{ conn: second, reply: 'declined' }
		]);
		expect(t.actor.getSnapshot().context.receiveFailure).toBeNull();

		// Another call: asked again. The sender closes meanwhile: the question goes away.
		t.actor.send({ type: 'photo.incoming', conn: fakeConn(), from: 'friend', offer: { ...offer(), callId: 'call-2' } });
		t.fromAsk({ type: 'photo.offerWithdrawn' });
		expect(t.actor.getSnapshot().matches({ inbox: 'idle' })).toBe(true);
		expect(t.actor.getSnapshot().context.incoming).toBeNull();
		// Nobody answers within consentTimeout: refused as declined, asked again next time.
		const third = fakeConn();
		t.actor.send({ type: 'photo.incoming', conn: third, from: 'friend', offer: { ...offer(), callId: 'call-2' } });
		clock.increment(59_000);
		expect(t.actor.getSnapshot().matches({ inbox: 'asking' })).toBe(true);
		clock.increment(1_000);
		expect(t.actor.getSnapshot().matches({ inbox: 'idle' })).toBe(true);
		expect(t.replies.at(-1)).toEqual({ conn: third, reply: 'declined' });
		t.actor.send({ type: 'photo.incoming', conn: fakeConn(), from: 'friend', offer: { ...offer(), callId: 'call-2' } });
		expect(t.actor.getSnapshot().matches({ inbox: 'asking' })).toBe(true);
	});

	test('limits: one photo over the per-photo bytes, and a call past its count or bytes, are refused with a message on both sides', async () => {
		const t = setup();
		const big = fakeConn();
		t.actor.send({ type: 'photo.incoming', conn: big, from: 'friend', offer: offer(photoLimits.photoBytes + 1) });
		expect(t.replies).toEqual([{ conn: big, reply: 'too-large' }]);
		expect(t.actor.getSnapshot().matches({ inbox: 'failed' })).toBe(true);
		expect(t.actor.getSnapshot().context.receiveFailure?.reason).toBe('refused-too-large');
		// Exactly at the limit is fine.
		acceptFirst(t, fakeConn(), offer(photoLimits.photoBytes));
		expect(t.actor.getSnapshot().matches({ inbox: 'receiving' })).toBe(true);
		t.fromReceiver({ type: 'photo.received', blob: new Blob([new Uint8Array(1)]) });
		await waitFor(t.actor, (s) => s.matches({ inbox: 'received' }));

		// Count: photoLimits.callPhotos in one call, then refused.
		for (let n = 1; n < photoLimits.callPhotos; n++) {
			acceptFirst(t, fakeConn(), offer(10));
			t.fromReceiver({ type: 'photo.received', blob: new Blob([new Uint8Array(10)]) });
			await waitFor(t.actor, (s) => s.matches({ inbox: 'received' }));
		}
		expect(t.actor.getSnapshot().context.callPhotos?.count).toBe(photoLimits.callPhotos);
		const extra = fakeConn();
		t.actor.send({ type: 'photo.incoming', conn: extra, from: 'friend', offer: offer(10) });
		expect(t.replies.at(-1)).toEqual({ conn: extra, reply: 'limit' });
		expect(t.actor.getSnapshot().context.receiveFailure?.reason).toBe('refused-limit');

		// Bytes: a new call where the offers add up past callBytes.
		const t2 = setup();
		const o = (size: number) => ({ ...offer(size), callId: 'call-9' });
		acceptFirst(t2, fakeConn(), o(photoLimits.photoBytes));
		t2.fromReceiver({ type: 'photo.receiveFailed' }); // a failed one still counts its bytes
		for (let n = 1; n < 6; n++) {
			acceptFirst(t2, fakeConn(), o(photoLimits.photoBytes));
			t2.fromReceiver({ type: 'photo.receiveFailed' });
		}
		expect(t2.actor.getSnapshot().context.callPhotos?.bytes).toBe(6 * photoLimits.photoBytes);
		const over = fakeConn();
		t2.actor.send({ type: 'photo.incoming', conn: over, from: 'friend', offer: o(photoLimits.callBytes - 6 * photoLimits.photoBytes + 1) });
		expect(t2.replies.at(-1)).toEqual({ conn: over, reply: 'limit' });
		const fits = fakeConn();
		t2.actor.send({ type: 'photo.incoming', conn: fits, from: 'friend', offer: o(photoLimits.callBytes - 6 * photoLimits.photoBytes) });
		expect(t2.actor.getSnapshot().matches({ inbox: 'receiving' })).toBe(true);
	});

	test('a malformed offer is refused as invalid without receiving', () => {
		const t = setup();
		const conn = fakeConn();
		t.actor.send({ type: 'photo.incoming', conn, from: 'friend', offer: { ...offer(), type: 'text/html' } });
		expect(t.replies).toEqual([{ conn, reply: 'invalid' }]);
		expect(t.calls.receiveInputs).toHaveLength(0);
		expect(t.actor.getSnapshot().matches({ inbox: 'idle' })).toBe(true);
	});

	test('bytes that are not an image, or too many pixels, are refused before anything is stored; the sender is told why', async () => {
		let verdict = 'NotAnImageError';
		const t = setup({
			check: async () => {
				throw domError(verdict);
			}
		});
		const conn = acceptFirst(t);
		t.fromReceiver({ type: 'photo.received', blob: new Blob([new Uint8Array(3)]) });
		await waitFor(t.actor, (s) => s.matches({ inbox: 'failed' }));
		expect(t.actor.getSnapshot().context.receiveFailure?.reason).toBe('refused-not-image');
		expect(t.replies.at(-1)).toEqual({ conn, reply: 'not-image' });
		expect(t.calls.saves).toHaveLength(0);
		expect(t.actor.getSnapshot().context.incoming?.blob).toBeNull();

		verdict = 'TooLargeError';
		const huge = acceptFirst(t);
		t.fromReceiver({ type: 'photo.received', blob: new Blob([new Uint8Array(3)]) });
		await waitFor(t.actor, (s) => s.matches({ inbox: 'failed' }) && s.context.receiveFailure?.reason === 'refused-too-large');
		expect(t.replies.at(-1)).toEqual({ conn: huge, reply: 'too-large' });
		expect(t.calls.saves).toHaveLength(0);
	});

	test('a receive that breaks off, or cannot be stored, fails with a reason; the sender hears "not-saved"', async () => {
		let full = false;
		const t = setup({
			save: async (input) => {
				if (full) throw domError('QuotaExceededError');
				return record({ blob: input.blob });
			}
		});
		acceptFirst(t);
		t.fromReceiver({ type: 'photo.receiveFailed' });
		expect(t.actor.getSnapshot().context.receiveFailure?.reason).toBe('transfer-failed');
		full = true;
		const conn = acceptFirst(t);
		t.fromReceiver({ type: 'photo.received', blob: new Blob([new Uint8Array(3)]) });
		await waitFor(t.actor, (s) => s.matches({ inbox: 'failed' }) && s.context.receiveFailure?.reason === 'storage-full');
		expect(t.replies.at(-1)).toEqual({ conn, reply: 'not-saved' });
		t.actor.send({ type: 'photo.dismiss' });
		expect(t.actor.getSnapshot().matches({ inbox: 'idle' })).toBe(true);
		expect(t.actor.getSnapshot().context.receiveFailure).toBeNull();
	});

	test('the sender: asked → waits for consent (then a deadline); every byte out → confirming until "done"; too large → refused at once', async () => {
		const clock = new SimulatedClock();
		const photo = record({ size: 100 });
		const huge = record({ size: photoLimits.photoBytes + 1 });
		const t = setup({ clock, load: async () => [photo, huge] });
		await waitFor(t.actor, (s) => s.matches({ library: 'ready' }));
		t.actor.send({ type: 'photo.send', photoId: huge.id, peer, to: 'friend', callId: 'c' });
		expect(t.actor.getSnapshot().context.sendFailure?.reason).toBe('too-large');
		expect(t.calls.sendInputs).toHaveLength(0);

		t.actor.send({ type: 'photo.send', photoId: photo.id, peer, to: 'friend', callId: 'c' });
		t.fromSender({ type: 'photo.sendAsking' });
		expect(t.actor.getSnapshot().matches({ outbox: { sending: 'awaitingConsent' } })).toBe(true);
		clock.increment(30_000); // past connectTimeout: still waiting for the person
		expect(t.actor.getSnapshot().matches({ outbox: { sending: 'awaitingConsent' } })).toBe(true);
		t.fromSender({ type: 'photo.sendOpen' });
		t.fromSender({ type: 'photo.sendProgress', sent: 60, total: 100 });
		expect(t.actor.getSnapshot().matches({ outbox: { sending: 'transferring' } })).toBe(true);
		t.fromSender({ type: 'photo.sendProgress', sent: 100, total: 100 });
		expect(t.actor.getSnapshot().matches({ outbox: { sending: 'confirming' } })).toBe(true);
		clock.increment(30_000); // past transferStall: the receiver is storing
		expect(t.actor.getSnapshot().matches({ outbox: { sending: 'confirming' } })).toBe(true);
		t.fromSender({ type: 'photo.sent' });
		expect(t.actor.getSnapshot().matches({ outbox: 'sent' })).toBe(true);

		t.actor.send({ type: 'photo.send', photoId: photo.id, peer, to: 'friend', callId: 'c' });
		t.fromSender({ type: 'photo.sendAsking' });
		clock.increment(65_000);
		expect(t.actor.getSnapshot().context.sendFailure?.reason).toBe('peer-declined');
		t.actor.send({ type: 'photo.send', photoId: photo.id, peer, to: 'friend', callId: 'c' });
		t.fromSender({ type: 'photo.sendOpen' });
		t.fromSender({ type: 'photo.sendProgress', sent: 100, total: 100 });
		clock.increment(60_000);
		expect(t.actor.getSnapshot().context.sendFailure?.reason).toBe('transfer-failed');
	});
});

describe('photo machine: model-based paths', () => {
	test('every state reached by the shortest paths keeps its promise about what the system did', () => {
		// Effects the fakes record; the check below reads them with the snapshot after each step.
		const replies: { conn: unknown; reply: string }[] = [];
		const machine = photoMachine.provide({
			actors: {
				takePhoto: fromPromise(never<Shot>),
				grabFrame: fromPromise(never<Shot>),
				savePhoto: fromPromise(never<PhotoRecord>),
				loadPhotos: fromPromise(never<PhotoRecord[]>),
				deletePhoto: fromPromise(never<string[]>),
				sendPhoto: fromCallback(() => () => {}),
				receivePhoto: fromCallback(() => () => {}),
				askAboutOffer: fromCallback(() => () => {}),
				checkPhoto: fromPromise(never<CheckedPhoto>)
			},
			actions: {
				refuseOffer: ({ event }, why) => replies.push({ conn: (event as { conn?: unknown }).conn, reply: why as string }),
				replyIncoming: ({ context }, reply) => replies.push({ conn: context.incoming?.conn, reply: reply as string })
			},
			// The model tells states apart by value only, so a stream set by `photo.stream` (a
			// context change) would be forgotten: the camera is taken as live here.
			guards: { hasStream: () => true }
		});
		const one = record({ id: 'only' });
		const blob = new Blob([new Uint8Array(3)]);
		type Snap = ReturnType<ReturnType<typeof createActor<typeof machine>>['getSnapshot']>;
		const running = (s: Snap, id: string) => !!(s.children as Record<string, unknown>)[id];
		/** What each state promises; checked after every step of every path. */
		const promises: Record<string, (s: Snap) => boolean> = {
			'shutter.taking.imageCapture': (s) => running(s, 'takePhoto') && s.context.shots > 0 && !s.context.shutterFailure,
			'shutter.taking.fallback': (s) => running(s, 'grabFrame') && !running(s, 'takePhoto'),
			'shutter.saving': (s) => running(s, 'savePhoto') && !!s.context.pending,
			'shutter.saved': (s) => !!s.context.lastSaved && s.context.photos.some((p) => p.id === s.context.lastSaved) && !s.context.pending,
			'shutter.failed': (s) => !!s.context.shutterFailure,
			'library.loading': (s) => running(s, 'loadPhotos'),
			'library.trashed': (s) => s.context.trash.includes('only') && !running(s, 'deletePhoto'),
			'library.deleting': (s) => running(s, 'deletePhoto') && s.context.trash.length > 0,
			'library.failed': (s) => !!s.context.libraryFailure,
			'outbox.sending': (s) => running(s, 'sendPhoto') && !!s.context.outgoing && !s.context.sendFailure,
			'outbox.sent': (s) => !!s.context.outgoing && s.context.outgoing.sent === s.context.outgoing.total,
			'outbox.failed': (s) => !!s.context.sendFailure && !running(s, 'sendPhoto'),
			'inbox.idle': (s) => !s.context.incoming,
			'inbox.asking': (s) => running(s, 'askAboutOffer') && !running(s, 'receivePhoto') && !!s.context.incoming && s.context.callPhotos?.consent === 'unasked',
			'inbox.receiving': (s) =>
				running(s, 'receivePhoto') && s.context.callPhotos?.consent === 'accepted' && (s.context.callPhotos?.count ?? 0) > 0,
			'inbox.checking': (s) => running(s, 'checkPhoto') && !!s.context.incoming?.blob,
			'inbox.storing': (s) => running(s, 'storeReceived') && !!s.context.incoming?.checked && !s.context.incoming.blob,
			'inbox.received': (s) =>
				replies.at(-1)?.reply === 'done' && replies.at(-1)?.conn === s.context.incoming?.conn && s.context.photos[0]?.id === s.context.lastReceived,
			'inbox.failed': (s) => !!s.context.receiveFailure && !s.context.incoming?.blob
		};
		const check = (s: Snap, active: string[]) =>
			active.filter((p) => promises[p] && !promises[p](s)).map((p) => `${p} broke its promise`);
		const { reached, mismatches, paths } = replayShortestPaths(
			machine,
			[
				{ type: 'photo.stream', stream: videoStream() },
				{ type: 'photo.take' },
				{ type: 'xstate.done.actor.takePhoto', output: shot() },
				{ type: 'xstate.error.actor.takePhoto', error: domError('NotSupportedError') },
				{ type: 'xstate.done.actor.grabFrame', output: shot('video') },
				{ type: 'xstate.error.actor.grabFrame', error: domError('EncodingError') },
				{ type: 'xstate.done.actor.savePhoto', output: one },
				{ type: 'xstate.error.actor.savePhoto', error: domError('QuotaExceededError') },
				{ type: 'photo.retrySave' },
				{ type: 'photo.dismiss' },
				{ type: 'xstate.done.actor.loadPhotos', output: [one] },
				{ type: 'xstate.error.actor.loadPhotos', error: domError('InvalidStateError') },
				{ type: 'photo.reload' },
				{ type: 'photo.delete', id: 'only' },
				{ type: 'photo.undoDelete' },
				{ type: 'xstate.after.undoWindow.photo.library.trashed' },
				{ type: 'xstate.done.actor.deletePhoto', output: ['only'] },
				{ type: 'photo.send', photoId: 'only', peer, to: 'friend', callId: 'c' },
				{ type: 'photo.sendAsking' },
				{ type: 'photo.sendOpen' },
				{ type: 'photo.sendProgress', sent: 10, total: 10 },
				{ type: 'photo.sent' },
				{ type: 'photo.sendFailed', reason: 'transfer-failed' },
				{ type: 'photo.incoming', conn: fakeConn(), from: 'friend', offer: offer() },
				{ type: 'photo.acceptPeer' },
				{ type: 'photo.declinePeer' },
				{ type: 'photo.offerWithdrawn' },
				{ type: 'photo.received', blob },
				{ type: 'xstate.done.actor.checkPhoto', output: { blob, type: 'image/png', width: 1, height: 1 } },
				{ type: 'xstate.error.actor.checkPhoto', error: domError('NotAnImageError') },
				{ type: 'photo.receiveFailed' },
				{ type: 'xstate.done.actor.storeReceived', output: record({ source: 'received', from: 'friend' }) }
			] as never[],
			undefined,
			check as never
		);
		expect(mismatches).toEqual([]);
		expect(paths).toBeGreaterThan(0);
		expect([...reached].sort()).toEqual(allStatePaths(photoMachine).sort());
	}, 30_000);
});

describe('photo offers and the transfer protocol', () => {
	test('offers are validated: size, type, name length', () => {
		expect(isPhotoOffer(offer())).toBe(true);
		expect(isPhotoOffer({ ...offer(), type: 'text/html' })).toBe(false);
		expect(isPhotoOffer({ ...offer(), size: 0 })).toBe(false);
		expect(isPhotoOffer({ ...offer(), size: 1.5 })).toBe(false);
		expect(isPhotoOffer({ ...offer(), size: 2 ** 32 })).toBe(false);
		// Well-formed but over the per-photo limit: the machine refuses it, with a message.
		expect(isPhotoOffer({ ...offer(), size: photoLimits.photoBytes + 1 })).toBe(true);
		expect(isPhotoOffer({ ...offer(), name: 'x'.repeat(201) })).toBe(false);
		expect(isPhotoOffer(null)).toBe(false);
	});

	/**
	 * Two fake DataConnections joined by a pipe whose channel only drains when the test says:
	 * the sender must stop at the high-water mark and go on at `bufferedamountlow`.
	 */
	function pipe() {
		type Handler = (data?: unknown) => void;
		class End {
			open = false;
			handlers = new Map<string, Set<Handler>>();
			other!: End;
			sent: unknown[] = [];
			dataChannel = {
				bufferedAmount: 0,
				bufferedAmountLowThreshold: 0,
				low: [] as (() => void)[],
				addEventListener: (_type: string, fn: () => void) => this.dataChannel.low.push(fn)
			};
			on(event: string, fn: Handler) {
				if (!this.handlers.has(event)) this.handlers.set(event, new Set());
				this.handlers.get(event)!.add(fn);
				return this;
			}
			off(event: string, fn: Handler) {
				this.handlers.get(event)?.delete(fn);
				return this;
			}
			removeAllListeners() {
				this.handlers.clear();
			}
			emit(event: string, data?: unknown) {
				for (const fn of [...(this.handlers.get(event) ?? [])]) fn(data);
			}
			send(data: unknown) {
				this.sent.push(data);
				if (typeof data === 'string') this.other.emit('data', data);
				else this.dataChannel.bufferedAmount += (data as ArrayBuffer).byteLength;
			}
			delivered = new Set<ArrayBuffer>();
			/** Delivers up to `bytes` of queued binary messages to the other side. */
			drain(bytes = Infinity) {
				let budget = bytes;
				for (const msg of this.sent) {
					if (typeof msg === 'string' || this.delivered.has(msg as ArrayBuffer) || budget <= 0) continue;
					const buf = msg as ArrayBuffer;
					this.delivered.add(buf);
					budget -= buf.byteLength;
					this.dataChannel.bufferedAmount -= buf.byteLength;
					this.other.emit('data', buf);
				}
				if (this.dataChannel.bufferedAmount <= this.dataChannel.bufferedAmountLowThreshold) {
					this.dataChannel.low.splice(0).forEach((fn) => fn());
				}
			}
			close() {
				if (!this.open) return;
				this.open = false;
				this.emit('close');
				this.other.close();
			}
		}
		const a = new End();
		const b = new End();
		a.other = b;
		b.other = a;
		const openBoth = () => {
			a.open = b.open = true;
			a.emit('open');
			b.emit('open');
		};
		return { a, b, openBoth };
	}

	test('3 MB arrive byte-identical in 16 KiB chunks, never queueing past the high-water mark', async () => {
		const size = 3 * 1024 * 1024 + 123;
		const bytes = new Uint8Array(size);
		for (let i = 0; i < size; i++) bytes[i] = (i * 31 + (i >> 8)) & 255;
		const blob = new Blob([bytes], { type: 'image/png' });
		const { a, b, openBoth } = pipe();
		const sentEvents: { type: string }[] = [];
		const gotEvents: { type: string; blob?: Blob }[] = [];
		let maxQueued = 0;
		const sendSpy = a.send.bind(a);
		a.send = (data: unknown) => {
			if (typeof data !== 'string') {
				expect(a.dataChannel.bufferedAmount).toBeLessThanOrEqual(highWater);
				expect((data as ArrayBuffer).byteLength).toBeLessThanOrEqual(chunkBytes);
			}
			sendSpy(data);
			maxQueued = Math.max(maxQueued, a.dataChannel.bufferedAmount);
		};
		const peerStub = { connect: () => a } as unknown as Peer;
		const stopSend = startSend(
			{ peer: peerStub, to: 'friend', callId: 'c', photo: { blob, name: 'n.png', type: 'image/png', size } },
			(e) => sentEvents.push(e)
		);
		const stopReceive = startReceive({ conn: b as unknown as DataConnection, offer: { callId: 'c', name: 'n.png', size, type: 'image/png' } }, (e) => {
			gotEvents.push(e);
			// The machine checks and stores it, then answers on the same connection.
			if (e.type === 'photo.received') replyPhoto(b as unknown as DataConnection, { t: 'done' });
		});
		openBoth();
		// Let the sender fill the channel up to the mark, then drain in slices.
		for (let round = 0; round < 200 && !sentEvents.some((e) => e.type === 'photo.sent'); round++) {
			await new Promise((r) => setTimeout(r, 0));
			const queuedBefore = a.dataChannel.bufferedAmount;
			if (round > 0) expect(queuedBefore).toBeLessThanOrEqual(highWater + chunkBytes);
			a.drain(512 * 1024);
		}
		expect(sentEvents.map((e) => e.type)).toContain('photo.sendOpen');
		expect(sentEvents.at(-1)).toEqual({ type: 'photo.sent' });
		expect(maxQueued).toBeGreaterThan(highWater / 2); // it did have to wait
		expect(maxQueued).toBeLessThanOrEqual(highWater + chunkBytes);
		const progress = sentEvents.filter((e) => e.type === 'photo.sendProgress').length;
		expect(progress).toBeGreaterThan(3);
		expect(progress).toBeLessThanOrEqual(22);
		const received = gotEvents.find((e) => e.type === 'photo.received')!.blob!;
		expect(received.size).toBe(size);
		// Buffer.equals: toEqual on 3 MB of elements is needlessly slow.
		expect(Buffer.from(await received.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
		stopSend();
		stopReceive();
	});

	test('the sender learns of a refusal and of a close before the end', async () => {
		const refused = pipe();
		const events: { type: string; reason?: string }[] = [];
		startSend(
			{ peer: { connect: () => refused.a } as unknown as Peer, to: 'f', callId: 'c', photo: { blob: new Blob([new Uint8Array(5)]), name: 'n', type: 'image/png', size: 5 } },
			(e) => events.push(e)
		);
		refused.openBoth();
		refused.b.send(JSON.stringify({ t: 'asking' }));
		refused.b.send(JSON.stringify({ t: 'refuse', why: 'declined' }));
		expect(events).toEqual([{ type: 'photo.sendAsking' }, { type: 'photo.sendFailed', reason: 'peer-declined' }]);

		const cut = pipe();
		const events2: { type: string; reason?: string }[] = [];
		const size = 100_000;
		startSend(
			{ peer: { connect: () => cut.a } as unknown as Peer, to: 'f', callId: 'c', photo: { blob: new Blob([new Uint8Array(size)]), name: 'n', type: 'image/png', size } },
			(e) => events2.push(e)
		);
		const got: { type: string }[] = [];
		startReceive({ conn: cut.b as unknown as DataConnection, offer: { callId: 'c', name: 'n', size, type: 'image/png' } }, (e) => got.push(e));
		cut.openBoth();
		await new Promise((r) => setTimeout(r, 0));
		cut.a.drain(chunkBytes * 2);
		cut.b.close();
		expect(events2.at(-1)).toEqual({ type: 'photo.sendFailed', reason: 'transfer-failed' });
		expect(got.at(-1)).toEqual({ type: 'photo.receiveFailed' });
	});
});
