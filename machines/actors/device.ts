/**
 * What a call asks of the device, as actors the call machine invokes in the states that need
 * them (so the chart shows when each runs): `wakeLock` keeps the screen on, `mediaSession`
 * offers hang-up, microphone and camera to the system's call controls (Media Session) and sends
 * their presses back as the call screen's own events. The work is in ./device-io.ts, imported
 * when a call first needs it, so it stays out of the first load; an actor stopped before that
 * import arrives starts nothing.
 */
import { fromCallback } from 'xstate';
import type { CallControlEvent, CallControlsState } from './device-io';

export type { CallControlEvent, CallControlsState } from './device-io';

/** `mediaSession.state { state }`: the call's microphone or camera changed. */
export interface MediaSessionUpdate {
	type: 'mediaSession.state';
	state: CallControlsState;
}

let io: typeof import('./device-io') | null = null;
let loading: Promise<typeof import('./device-io')> | null = null;

/** Runs `use` with the io module: at once once it has loaded (so a hold handed from one state
 * to the next happens in the same step), else when it arrives. Whatever a browser does in
 * there, the call goes on: these are niceties, never a reason for a call to fail. */
function withIo(use: (m: typeof import('./device-io')) => void): void {
	const run = (m: typeof import('./device-io')) => {
		try {
			use(m);
		} catch {
			/* see above */
		}
	};
	if (io) return run(io);
	loading ??= import('./device-io').then((m) => (io = m));
	loading.then(run, () => {
		// Offline before it was cached: the call goes on without these.
		loading = null;
	});
}

export const wakeLock = fromCallback(() => {
	let stopped = false;
	let release: (() => void) | null = null;
	withIo((m) => {
		if (!stopped) release = m.holdScreen();
	});
	return () => {
		stopped = true;
		release?.();
	};
});

export const mediaSession = fromCallback<MediaSessionUpdate, CallControlsState, CallControlEvent>(({ input, sendBack, receive }) => {
	let stopped = false;
	let latest = input;
	let controls: ReturnType<typeof import('./device-io').startMediaSession> | null = null;
	receive((event) => {
		latest = event.state;
		controls?.update(latest);
	});
	withIo((m) => {
		if (!stopped) controls = m.startMediaSession(sendBack, latest);
	});
	return () => {
		stopped = true;
		controls?.stop();
	};
});
