/**
 * What a call asks of the device, where the browser offers it: the screen kept awake (Screen
 * Wake Lock) and the system's call controls (Media Session: hang up, microphone, camera, from a
 * headset, the lock screen or the picture-in-picture window). Each is harmless where the API is
 * missing or refuses: the call goes on without it.
 *
 * Loaded on first use by ./device.ts (the actors), so it stays out of the first load. The
 * browser objects come in as parameters, so the unit tests run this under Node with fakes.
 */

/** The part of the Screen Wake Lock API used here. */
export interface WakeLockLike {
	request(type: 'screen'): Promise<WakeLockSentinelLike>;
}
export interface WakeLockSentinelLike {
	readonly released: boolean;
	release(): Promise<void>;
	addEventListener(type: 'release', listener: () => void): void;
}
/** The part of `document` used here: the lock is only granted to a visible page. */
export interface VisibilityLike {
	readonly visibilityState: DocumentVisibilityState;
	addEventListener(type: 'visibilitychange', listener: () => void): void;
	removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

/**
 * How long a released hold waits before the lock itself goes: the call moves between states
 * that each hold it (connecting → connected ⇄ recovering), and the next state's hold arrives in
 * the same step. Letting go and asking again would let a screen whose idle timeout has passed
 * dim for a moment on every change.
 */
export const handoverMs = 0;

/**
 * One screen wake lock for the page, shared by every hold: asked for while at least one hold is
 * on and the page is visible, released when the last hold goes. Browsers release it themselves
 * when the page is hidden; it is asked for again when the page is visible.
 */
export function screenWakeLock(wakeLock: WakeLockLike | undefined, doc: VisibilityLike | undefined) {
	let holds = 0;
	let sentinel: WakeLockSentinelLike | null = null;
	let asking = false;
	let letGo: ReturnType<typeof setTimeout> | null = null;

	const ask = () => {
		if (!wakeLock || !doc || holds === 0 || asking) return;
		if (sentinel && !sentinel.released) return;
		if (doc.visibilityState !== 'visible') return;
		asking = true;
		wakeLock.request('screen').then(
			(got) => {
				asking = false;
				if (holds === 0) {
					void got.release().catch(() => {});
					return;
				}
				sentinel = got;
				got.addEventListener('release', () => {
					if (sentinel === got) sentinel = null;
				});
			},
			() => {
				// Refused (battery saver, a permissions policy, hidden meanwhile): the screen may
				// sleep; the call itself is unaffected. Asked again when the page is next shown.
				asking = false;
			}
		);
	};
	const onVisibility = () => {
		if (doc?.visibilityState === 'visible') ask();
	};
	const release = () => {
		letGo = null;
		if (holds > 0) return;
		doc?.removeEventListener('visibilitychange', onVisibility);
		const held = sentinel;
		sentinel = null;
		if (held && !held.released) void held.release().catch(() => {});
	};

	return {
		/** Keeps the screen awake until the returned function is called. */
		hold(): () => void {
			holds += 1;
			if (holds === 1 && !letGo) doc?.addEventListener('visibilitychange', onVisibility);
			if (letGo) {
				clearTimeout(letGo);
				letGo = null;
			}
			ask();
			let done = false;
			return () => {
				if (done) return;
				done = true;
				holds -= 1;
				if (holds === 0) letGo = setTimeout(release, handoverMs);
			};
		},
		/** Whether a lock is held now. */
		get held() {
			return !!sentinel && !sentinel.released;
		}
	};
}

let pageLock: ReturnType<typeof screenWakeLock> | null = null;

/** Holds this page's screen wake lock until the returned function is called. */
export function holdScreen(): () => void {
	pageLock ??= screenWakeLock(
		typeof navigator !== 'undefined' ? (navigator as { wakeLock?: WakeLockLike }).wakeLock : undefined,
		typeof document !== 'undefined' ? document : undefined
	);
	return pageLock.hold();
}

/** What the system's call controls show: whether the microphone and camera are on. */
export interface CallControlsState {
	micMuted: boolean;
	cameraOff: boolean;
	/** False when the call has no microphone (video only): no microphone button then. */
	micAvailable: boolean;
}

/** The events the system's call controls send, the same the call screen's buttons send. */
export type CallControlEvent = { type: 'call.hangup' } | { type: 'call.toggleMic' } | { type: 'call.toggleCamera' };

/** The part of the Media Session API used here (`setActionHandler` throws for actions the
 * browser does not know). */
export interface MediaSessionLike {
	setActionHandler(action: string, handler: (() => void) | null): void;
	setMicrophoneActive?(active: boolean): void | Promise<void>;
	setCameraActive?(active: boolean): void | Promise<void>;
}

const actions = {
	hangup: { type: 'call.hangup' },
	togglemicrophone: { type: 'call.toggleMic' },
	togglecamera: { type: 'call.toggleCamera' }
} as const satisfies Record<string, CallControlEvent>;

/**
 * Offers hang-up, microphone and camera to the system's call controls until `stop()`, which
 * clears them (after the call, a headset button must not hang up anything).
 */
export function mediaSessionControls(
	session: MediaSessionLike | undefined,
	send: (event: CallControlEvent) => void,
	initial: CallControlsState
) {
	const set = (action: keyof typeof actions, handler: (() => void) | null) => {
		try {
			session?.setActionHandler(action, handler);
		} catch {
			/* this browser has no such action */
		}
	};
	const show = (state: CallControlsState) => {
		// Promises in some versions, plain calls in others; either may refuse.
		try {
			void Promise.resolve(session?.setMicrophoneActive?.(state.micAvailable && !state.micMuted)).catch(() => {});
			void Promise.resolve(session?.setCameraActive?.(!state.cameraOff)).catch(() => {});
		} catch {
			/* not supported */
		}
	};
	let micOffered = false;
	const offer = (state: CallControlsState) => {
		// No microphone in this call: no microphone button to press.
		if (state.micAvailable !== micOffered) {
			micOffered = state.micAvailable;
			set('togglemicrophone', micOffered ? () => send(actions.togglemicrophone) : null);
		}
		show(state);
	};
	set('hangup', () => send(actions.hangup));
	set('togglecamera', () => send(actions.togglecamera));
	offer(initial);
	return {
		update: offer,
		stop() {
			for (const action of Object.keys(actions) as (keyof typeof actions)[]) set(action, null);
		}
	};
}

/** The page's system call controls (see mediaSessionControls). */
export function startMediaSession(send: (event: CallControlEvent) => void, initial: CallControlsState) {
	const session = typeof navigator !== 'undefined' ? (navigator as { mediaSession?: MediaSessionLike }).mediaSession : undefined;
	return mediaSessionControls(session, send, initial);
}
