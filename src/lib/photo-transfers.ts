/**
 * A photo on its way, read from the photo machine's snapshot: what the call screen's photo
 * panel, the gallery and the transfer card all show. Loaded with them, after the first tap.
 */
import type { SnapshotFrom } from 'xstate';
import type { photoMachine } from '$machines/photo.machine';
import { i18n } from './i18n.svelte';

type PhotoSnapshot = SnapshotFrom<typeof photoMachine>;

export function outboxStage(s: PhotoSnapshot): 'sending' | 'sent' | null {
	return s.matches({ outbox: 'sending' }) ? 'sending' : s.matches({ outbox: 'sent' }) ? 'sent' : null;
}

/** Storing a received photo still counts as receiving it. */
export function inboxStage(s: PhotoSnapshot): 'receiving' | 'received' | null {
	if (s.matches({ inbox: 'receiving' }) || s.matches({ inbox: 'storing' })) return 'receiving';
	return s.matches({ inbox: 'received' }) ? 'received' : null;
}

export function inTransfer(s: PhotoSnapshot): boolean {
	return !!outboxStage(s) || !!inboxStage(s);
}

/** What the live region says about a transfer: once per stage, not per percent. */
export function transferNotice(s: PhotoSnapshot): string {
	const to = s.context.outgoing?.to ?? '';
	const from = s.context.incoming?.from ?? '';
	const outbox = outboxStage(s);
	if (outbox) return i18n.t(outbox === 'sent' ? 'photo.sent' : 'photo.sending', { id: to });
	const inbox = inboxStage(s);
	if (inbox) return i18n.t(inbox === 'received' ? 'photo.received' : 'photo.receiving', { id: from });
	return '';
}
