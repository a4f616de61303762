import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { createActor, fromCallback, setup } from 'xstate';
import {
	handoverMs,
	mediaSessionControls,
	screenWakeLock,
	type CallControlEvent,
	type MediaSessionLike,
	type WakeLockSentinelLike
} from '$machines/actors/device-io';

/** A Screen Wake Lock API that records requests and releases, and can refuse or drop the lock
 * as browsers do when the page is hidden. */
function fakeWakeLock({ grantAfterMs = 0 } = {}) {
	const sentinels: (WakeLockSentinelLike & { drop(): void })[] = [];
	let refuse = false;
	const api = {
		requests: 0,
		refuseNext() {
			refuse = true;
		},
		/** Locks granted and not released. */
		get held() {
			return sentinels.filter((s) => !s.released).length;
		},
		sentinels,
		request: vi.fn(async (type: 'screen') => {
			expect(type).toBe('screen');
			api.requests++;
			if (grantAfterMs) await new Promise((resolve) => setTimeout(resolve, grantAfterMs));
			if (refuse) {
				refuse = false;
				throw new DOMException('not now', 'NotAllowedError');
			}
			const listeners: (() => void)[] = [];
			const sentinel = {
				released: false,
				async release() {
					if (sentinel.released) return;
					sentinel.released = true;
					listeners.forEach((l) => l());
				},
				addEventListener(_: 'release', l: () => void) {
					listeners.push(l);
				},
				/** What the browser does when the page is hidden. */
				drop() {
					void sentinel.release();
				}
			};
			sentinels.push(sentinel);
			return sentinel;
		})
	};
	return api;
}

function fakeDocument() {
	const listeners = new Set<() => void>();
	const doc = {
		visibilityState: 'visible' as DocumentVisibilityState,
		addEventListener: (_: 'visibilitychange', l: () => void) => void listeners.add(l),
		removeEventListener: (_: 'visibilitychange', l: () => void) => void listeners.delete(l),
		listeners,
		show(state: DocumentVisibilityState) {
			doc.visibilityState = state;
			listeners.forEach((l) => l());
		}
	};
	return doc;
}

/** Lets the fake API's promises settle and a handover pass. */
async function settle() {
	await vi.advanceTimersByTimeAsync(handoverMs + 1);
}

describe('the screen wake lock', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});
	afterEach(() => {
		vi.useRealTimers();
	});

	test('asked for on the first hold, released when the last hold goes', async () => {
		const api = fakeWakeLock();
		const lock = screenWakeLock(api, fakeDocument());
		const release = lock.hold();
		await settle();
		expect(api.requests).toBe(1);
		expect(api.held).toBe(1);
		expect(lock.held).toBe(true);
		release();
		await settle();
		expect(api.held).toBe(0);
		expect(lock.held).toBe(false);
		// Releasing twice is harmless.
		release();
		await settle();
		expect(api.requests).toBe(1);
	});

	test('handed from one state to the next in the same step: the lock is kept, not asked for again', async () => {
		const api = fakeWakeLock();
		const lock = screenWakeLock(api, fakeDocument());
		const connecting = lock.hold();
		await settle();
		connecting();
		const connected = lock.hold();
		await settle();
		expect(api.requests).toBe(1);
		expect(api.held).toBe(1);
		connected();
		await settle();
		expect(api.held).toBe(0);
	});

	test('dropped by the browser while hidden, asked for again when the page is visible', async () => {
		const api = fakeWakeLock();
		const doc = fakeDocument();
		const lock = screenWakeLock(api, doc);
		const release = lock.hold();
		await settle();
		api.sentinels[0].drop();
		doc.show('hidden');
		await settle();
		expect(api.requests).toBe(1);
		expect(lock.held).toBe(false);
		doc.show('visible');
		await settle();
		expect(api.requests).toBe(2);
		expect(api.held).toBe(1);
		release();
		await settle();
		expect(api.held).toBe(0);
		// After the call, showing the page again asks for nothing.
		doc.show('hidden');
		doc.show('visible');
		await settle();
		expect(api.requests).toBe(2);
		expect(doc.listeners.size).toBe(0);
	});

	test('held from a hidden page: asked for only once the page is visible', async () => {
		const api = fakeWakeLock();
		const doc = fakeDocument();
		doc.visibilityState = 'hidden';
		const lock = screenWakeLock(api, doc);
		const release = lock.hold();
		await settle();
		expect(api.requests).toBe(0);
		doc.show('visible');
		await settle();
		expect(api.held).toBe(1);
		release();
		await settle();
		expect(api.held).toBe(0);
	});

	test('a refusal is harmless and asked again on the next return to the page', async () => {
		const api = fakeWakeLock();
		const doc = fakeDocument();
		api.refuseNext();
		const lock = screenWakeLock(api, doc);
		const release = lock.hold();
		await settle();
		expect(api.requests).toBe(1);
		expect(lock.held).toBe(false);
		doc.show('hidden');
		doc.show('visible');
		await settle();
		expect(api.held).toBe(1);
		release();
		await settle();
	});

	test('a lock granted after the call already ended is released at once', async () => {
		const api = fakeWakeLock({ grantAfterMs: 50 });
		const lock = screenWakeLock(api, fakeDocument());
		const release = lock.hold();
		release();
		await vi.advanceTimersByTimeAsync(100);
		expect(api.requests).toBe(1);
		expect(api.held).toBe(0);
	});

	test('no Screen Wake Lock API (or no document): holds do nothing and throw nothing', async () => {
		const lock = screenWakeLock(undefined, fakeDocument());
		const release = lock.hold();
		await settle();
		expect(lock.held).toBe(false);
		release();
		const headless = screenWakeLock(fakeWakeLock(), undefined);
		headless.hold()();
		await settle();
	});
});

describe('the system call controls (Media Session)', () => {
	function fakeSession({ knows = ['hangup', 'togglemicrophone', 'togglecamera'] } = {}) {
		const handlers = new Map<string, (() => void) | null>();
		const shown: { mic?: boolean; camera?: boolean } = {};
		const session: MediaSessionLike & { handlers: typeof handlers; shown: typeof shown } = {
			handlers,
			shown,
			setActionHandler(action, handler) {
				if (!knows.includes(action)) throw new TypeError(`unknown action ${action}`);
				handlers.set(action, handler);
			},
			setMicrophoneActive: (active) => void (shown.mic = active),
			setCameraActive: async (active) => void (shown.camera = active)
		};
		return session;
	}
	const state = { micMuted: false, cameraOff: false, micAvailable: true };

	test('hang up, microphone and camera presses become the call screen’s own events; stop clears them', () => {
		const session = fakeSession();
		const sent: CallControlEvent[] = [];
		const controls = mediaSessionControls(session, (e) => sent.push(e), state);
		session.handlers.get('hangup')!();
		session.handlers.get('togglemicrophone')!();
		session.handlers.get('togglecamera')!();
		expect(sent.map((e) => e.type)).toEqual(['call.hangup', 'call.toggleMic', 'call.toggleCamera']);
		expect(session.shown).toEqual({ mic: true, camera: true });
		controls.stop();
		expect([...session.handlers.values()]).toEqual([null, null, null]);
	});

	test('they show whether the microphone and camera are on, and offer no microphone when the call has none', () => {
		const session = fakeSession();
		const controls = mediaSessionControls(session, () => {}, state);
		controls.update({ ...state, micMuted: true, cameraOff: true });
		expect(session.shown).toEqual({ mic: false, camera: false });
		controls.update({ ...state, micAvailable: false });
		expect(session.handlers.get('togglemicrophone')).toBeNull();
		expect(session.shown.mic).toBe(false);
		expect(session.handlers.get('hangup')).toBeTypeOf('function');
	});

	test('a browser without these actions, or without Media Session at all: nothing throws', () => {
		const old = fakeSession({ knows: ['play', 'pause'] });
		const controls = mediaSessionControls(old, () => {}, state);
		controls.update({ ...state, micMuted: true });
		controls.stop();
		expect(old.handlers.size).toBe(0);
		mediaSessionControls(undefined, () => {}, state).stop();
	});
});

describe('the device actors, as the call machine runs them', () => {
	test('stopped before its code arrived, the wake lock actor asks for nothing; running, it holds the lock until stopped', async () => {
		const { wakeLock } = await import('$machines/actors/device');
		const api = fakeWakeLock();
		const g = globalThis as { navigator?: unknown; document?: unknown };
		const saved = { navigator: g.navigator, document: g.document };
		Object.defineProperty(globalThis, 'navigator', { value: { wakeLock: api }, configurable: true, writable: true });
		g.document = fakeDocument();
		try {
			const machine = setup({ actors: { wakeLock } }).createMachine({ invoke: { src: 'wakeLock' } });
			createActor(machine).start().stop();
			await new Promise((resolve) => setTimeout(resolve, 50));
			expect(api.requests).toBe(0);

			const running = createActor(machine).start();
			await vi.waitFor(() => expect(api.held).toBe(1));
			running.stop();
			await vi.waitFor(() => expect(api.held).toBe(0));
		} finally {
			Object.defineProperty(globalThis, 'navigator', { value: saved.navigator, configurable: true, writable: true });
			g.document = saved.document;
		}
	});
});
