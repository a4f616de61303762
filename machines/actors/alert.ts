/**
 * The call's alerts as actors: `ring` while we ring (ringtone, vibration, and when the page is
 * hidden a flashing title and a notification), `ringBack` while the far side rings. The work
 * is in ./alert-io.ts, imported when a call first rings, so it stays out of the first load;
 * stopped before that import arrives, nothing starts.
 */
import { fromCallback } from 'xstate';

export interface RingInput {
	/** Who is calling, as the person knows them (name, or ID): the flashing title and the
	 * notification say only this, after a phone symbol, in any language. */
	from: string;
}

function lazy<TInput>(start: (m: typeof import('./alert-io'), input: TInput) => () => void) {
	return fromCallback<{ type: string }, TInput>(({ input }) => {
		let stopped = false;
		let stop: (() => void) | null = null;
		import('./alert-io').then(
			(m) => {
				if (!stopped) stop = start(m, input);
			},
			() => {
				/* offline before it was cached: the call screen still shows the call */
			}
		);
		return () => {
			stopped = true;
			stop?.();
		};
	});
}

export const ring = lazy<RingInput>((m, input) => m.startRing(input));
export const ringBack = lazy<void>((m) => m.startRingBack());
