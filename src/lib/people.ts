/**
 * How a person is shown: your nickname for them, else the name they gave, else their ID. Text
 * only (Svelte escapes it); names were cleaned when they arrived (machines/actors/profile.ts).
 */
export function labelFor(peerId: string, givenName: string, contacts: Record<string, string>): string {
	const nickname = Object.hasOwn(contacts, peerId) ? contacts[peerId] : '';
	return nickname || givenName || peerId;
}

/** `2:14`, `1:02:03`: a call's length. */
export function duration(seconds: number): string {
	const s = Math.max(0, Math.round(seconds));
	const h = Math.floor(s / 3600);
	const m = Math.floor((s % 3600) / 60);
	const sec = String(s % 60).padStart(2, '0');
	return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** When a call was, in the page's language: the time today, else the date and time. */
export function when(at: number, locale: string, now = Date.now()): string {
	const date = new Date(at);
	const sameDay = new Date(now).toDateString() === date.toDateString();
	return sameDay
		? date.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit' })
		: date.toLocaleString(locale, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
