/**
 * Photos deleted within the gallery's undo window, remembered in localStorage (synchronous, so
 * it survives the page closing): a page closed before the window passes still removes them,
 * on the next load (photo-io.ts loadPhotos).
 */
export const TRASH_KEY = 'camcall.photoTrash';

export function rememberTrash(ids: string[]): void {
	try {
		if (ids.length) localStorage.setItem(TRASH_KEY, JSON.stringify(ids));
		else localStorage.removeItem(TRASH_KEY);
	} catch {
		/* no storage: the window only lasts as long as the page */
	}
}

/** What a closed page left in the window: at most 1000 IDs, strings only. */
export function leftInTrash(): string[] {
	try {
		const ids: unknown = JSON.parse(localStorage.getItem(TRASH_KEY) ?? '[]');
		return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === 'string').slice(0, 1000) : [];
	} catch {
		return [];
	}
}
