/**
 * What a call asks of the device, as actors the call machine invokes in the states that need
 * them (so the chart shows when each runs): `wakeLock` keeps the screen on, `mediaSession`
 * offers hang-up, microphone and camera to the system's call controls (Media Session) and sends
 * their presses back as the call screen's own events. The work is in ./device-io.ts, imported
 * when a call first needs it, so it stays out of the first load; an actor stopped before that
 * import arrives starts nothing.
 */
import { fromCallback } from 'xstate';
import { lazyModule } from './lazy';
import type { CallControlEvent, CallControlsState } from './device-io';

export type { CallControlEvent, CallControlsState } from './device-io';

/** `mediaSession.state { state }`: the call's microphone or camera changed. */
export interface MediaSessionUpdate {
	type: 'mediaSession.state';
	state: CallControlsState;
}

/** The screen lock's and system controls' work: loaded ahead of the first call
 * (actors/call-extras.ts), else when a call first needs it. */
export const deviceIo = lazyModule(() => import('./device-io'));

/** Runs `use` with the io module: at once once it has loaded (so a hold handed from one state
 * to the next happens in the same step), else when it arrives. Whatever a browser does in
 * there, the call goes on: these are niceties, never a reason for a call to fail (offline
 * before it was cached, the call goes on without them). */
function withIo(use: (m: typeof import('./device-io')) => void): void {
	deviceIo.use((m) => {
		try {
			use(m);
		} catch {
			/* see above */
		}
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
