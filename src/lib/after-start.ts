/**
 * What a first visit waits for is the camera and the ID; code and downloads that are not part of
 * that (the service worker, the call machine) start once both have settled.
 */
import type { Session } from './session.svelte';

/** Runs `then` once, when both the camera and signaling have settled (each either up, or
 * failed or waiting for the person for now), or after `maxMs`. */
export function afterStart(session: Session, then: () => void, maxMs = 8000) {
	const children = ['signaling', 'capture'].map((id) => session.system.get(id) as Session | undefined);
	const busy: Record<string, string> = { signaling: 'connecting', capture: 'acquiring' };
	let done = false;
	const settled = () =>
		children.every((child, i) => {
			const value = child?.getSnapshot().value as unknown;
			const top = typeof value === 'string' ? value : Object.keys((value as object) ?? {})[0];
			return !child || (top !== busy[['signaling', 'capture'][i]] && top !== 'switching');
		});
	const run = () => {
		if (done) return;
		done = true;
		clearTimeout(timer);
		for (const sub of subs) sub.unsubscribe();
		then();
	};
	const timer = setTimeout(run, maxMs);
	const check = () => {
		if (settled()) setTimeout(run, 0);
	};
	const subs = children.filter((c): c is Session => !!c).map((c) => c.subscribe(check));
	check();
}

