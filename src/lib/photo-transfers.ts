/**
 * A photo on its way, read from the photo machine's snapshot: what the call screen's photo
 * panel, the gallery and the transfer card all show. Loaded with them, after the first tap.
 */
import type { SnapshotFrom } from 'xstate';
import type { photoMachine } from '$machines/photo.machine';
import { i18n } from './i18n.svelte';
import './i18n.later';

type PhotoSnapshot = SnapshotFrom<typeof photoMachine>;

/** `awaiting`: the other person is being asked to accept photos from us. */
export function outboxStage(s: PhotoSnapshot): 'awaiting' | 'sending' | 'sent' | null {
	if (s.matches({ outbox: { sending: 'awaitingConsent' } })) return 'awaiting';
	return s.matches({ outbox: 'sending' }) ? 'sending' : s.matches({ outbox: 'sent' }) ? 'sent' : null;
}

/** `asking`: "Accept photos from …?" is on screen. Checking and storing a received photo
 * still count as receiving it. */
export function inboxStage(s: PhotoSnapshot): 'asking' | 'receiving' | 'received' | null {
	if (s.matches({ inbox: 'asking' })) return 'asking';
	if (s.matches({ inbox: 'receiving' }) || s.matches({ inbox: 'checking' }) || s.matches({ inbox: 'storing' })) return 'receiving';
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
	if (outbox) return i18n.t(outbox === 'sent' ? 'photo.sent' : outbox === 'awaiting' ? 'photo.awaitingConsent' : 'photo.sending', { id: to });
	const inbox = inboxStage(s);
	if (inbox) return i18n.t(inbox === 'received' ? 'photo.received' : inbox === 'asking' ? 'photo.consentAsk' : 'photo.receiving', { id: from });
	return '';
}
