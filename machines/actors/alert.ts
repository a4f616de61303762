/**
 * The call's alerts as actors: `ring` while we ring (ringtone, vibration, and when the page is
 * hidden a flashing title and a notification), `ringBack` while the far side rings. The work
 * is in ./alert-io.ts, imported ahead of the first call or when a call first rings, so it
 * stays out of the first load; stopped before that import arrives, nothing starts. Each starts
 * after the next paint (afterPaint).
 */
import { fromCallback } from 'xstate';
import { lazyModule } from './lazy';

/** The alerts' work: loaded ahead of the first call (actors/call-extras.ts). */
export const alertIo = lazyModule(() => import('./alert-io'));

/**
 * Runs `start` once the next frame is painted. A ring's audio (a new AudioContext: 30–45 ms of
 * the main thread here, measured) then follows the incoming sheet onto the screen instead of
 * holding it back, and the ringback follows the offer out instead of delaying it.
 */
function afterPaint(start: () => void): () => void {
	if (typeof requestAnimationFrame !== 'function') {
		const timer = setTimeout(start, 0);
		return () => clearTimeout(timer);
	}
	let timer: ReturnType<typeof setTimeout> | undefined;
	const frame = requestAnimationFrame(() => (timer = setTimeout(start, 0)));
	return () => {
		cancelAnimationFrame(frame);
		clearTimeout(timer);
	};
}

export interface RingInput {
	/** Who is calling, as the person knows them (name, or ID): the flashing title and the
	 * notification say only this, after a phone symbol, in any language. */
	from: string;
}

function lazy<TInput>(start: (m: typeof import('./alert-io'), input: TInput) => () => void) {
	return fromCallback<{ type: string }, TInput>(({ input }) => {
		let stopped = false;
		let stop: (() => void) | null = null;
		// Offline before it was cached, nothing starts: the call screen still shows the call.
		alertIo.use((m) => {
			if (!stopped) stop = afterPaint(() => (stop = start(m, input)));
		});
		return () => {
			stopped = true;
			stop?.();
		};
	});
}

export const ring = lazy<RingInput>((m, input) => m.startRing(input));
export const ringBack = lazy<void>((m) => m.startRingBack());
