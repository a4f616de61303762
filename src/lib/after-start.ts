/**
 * What a first visit waits for is the camera and the ID; code and downloads that are not part of
 * that (the service worker, the call machine) start once both have settled.
 */
import type { Session } from './session.svelte';

/** Runs `then` once, when both the camera and signaling have settled (each either up, or
 * failed or waiting for the person for now; a camera that is about to open by itself has not),
 * or after `maxMs`. */
export function afterStart(session: Session, then: () => void, maxMs = 8000) {
	const ids = ['signaling', 'capture', 'permission'] as const;
	const children = ids.map((id) => session.system.get(id) as Session | undefined);
	const topOf = (child: Session | undefined) => {
		const value = child?.getSnapshot().value as unknown;
		return typeof value === 'string' ? value : Object.keys((value as object) ?? {})[0];
	};
	let done = false;
	const settled = () => {
		const [signaling, capture, permission] = children.map(topOf);
		if (signaling === 'connecting' || capture === 'acquiring' || capture === 'switching') return false;
		// The camera is about to open by itself: the permission is still being read, or it is
		// granted and the camera has not started yet (a visible page opens it at once).
		if (permission === 'checking') return false;
		if (permission === 'granted' && capture === 'idle' && document.visibilityState === 'visible') return false;
		return true;
	};
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
