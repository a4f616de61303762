import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { cleanName, maxRecents, readContacts, readName, readRecents, saveContacts, saveName, saveRecents, type Recent } from '$machines/actors/profile';
import { duration, labelFor } from '$lib/people';

function fakeStorage() {
	const items = new Map<string, string>();
	return {
		items,
		getItem: (k: string) => items.get(k) ?? null,
		setItem: (k: string, v: string) => void items.set(k, String(v)),
		removeItem: (k: string) => void items.delete(k)
	};
}

let storage: ReturnType<typeof fakeStorage>;
beforeEach(() => {
	storage = fakeStorage();
	vi.stubGlobal('localStorage', storage);
});
afterEach(() => vi.unstubAllGlobals());

const recent = (over: Partial<Recent> = {}): Recent => ({ peerId: 'calm-otter-4821', name: 'Ana', direction: 'in', at: 1000, seconds: 62, outcome: 'answered', ...over });

describe('names as they may be shown', () => {
	test('text only: control, direction-override and separator characters go; spaces collapse; at most 40 characters', () => {
		expect(cleanName('  Ana   María ')).toBe('Ana María');
		expect(cleanName('Eve\u202Egnp.exe')).toBe('Evegnp.exe'); // a right-to-left override cannot reorder it
		expect(cleanName('a\u0000b\u001fc\u2028d\u2066e\ufeff')).toBe('abcde');
		expect(cleanName('<img src=x onerror=alert(1)>')).toBe('<img src=x onerror=alert(1)>'); // text, escaped when shown
		expect(Array.from(cleanName('😀'.repeat(60)))).toHaveLength(40); // code points, not UTF-16 halves
		expect(cleanName('x'.repeat(10_000))).toHaveLength(40);
		expect(cleanName(42)).toBe('');
		expect(cleanName({ toString: () => 'x' })).toBe('');
		expect(cleanName('\u202E\u202E')).toBe('');
	});

	test('labels: nickname, else the name they gave, else the ID; an ID like "constructor" is no contact', () => {
		expect(labelFor('calm-otter-4821', 'Ana', { 'calm-otter-4821': 'Mum' })).toBe('Mum');
		expect(labelFor('calm-otter-4821', 'Ana', {})).toBe('Ana');
		expect(labelFor('calm-otter-4821', '', {})).toBe('calm-otter-4821');
		expect(labelFor('constructor', '', {})).toBe('constructor');
		expect(labelFor('toString', 'T', {})).toBe('T');
	});

	test('durations read like a phone’s', () => {
		expect(duration(0)).toBe('0:00');
		expect(duration(134)).toBe('2:14');
		expect(duration(3723)).toBe('1:02:03');
	});
});

describe('what is saved comes back checked', () => {
	test('the name, recents and contacts survive a round trip', () => {
		saveName('  Ana ');
		expect(readName()).toBe('Ana');
		saveRecents([recent(), recent({ direction: 'out', outcome: 'no-answer', seconds: null })]);
		expect(readRecents()).toEqual([recent(), recent({ direction: 'out', outcome: 'no-answer', seconds: null })]);
		saveContacts({ 'calm-otter-4821': 'Mum' });
		expect(readContacts()).toEqual({ 'calm-otter-4821': 'Mum' });
	});

	test('at most maxRecents are kept', () => {
		saveRecents(Array.from({ length: maxRecents + 10 }, (_, i) => recent({ at: i })));
		expect(readRecents()).toHaveLength(maxRecents);
	});

	test('tampered or broken entries are dropped, not shown', () => {
		storage.setItem(
			'camcall.recents',
			JSON.stringify([
				recent(),
				recent({ peerId: '<script>' }),
				recent({ peerId: 'x'.repeat(65) }),
				recent({ direction: 'sideways' as never }),
				recent({ outcome: 'hacked' as never }),
				recent({ seconds: -5 }),
				{ ...recent(), at: 'yesterday' },
				null,
				'text',
				recent({ name: 'Eve\u202Egnp' })
			])
		);
		expect(readRecents()).toEqual([recent(), recent({ name: 'Evegnp' })]);
		storage.setItem('camcall.recents', '{not json');
		expect(readRecents()).toEqual([]);
		storage.setItem('camcall.recents', JSON.stringify({ length: 3 }));
		expect(readRecents()).toEqual([]);
		storage.setItem('camcall.contacts', JSON.stringify({ 'calm-otter-4821': 'Mum', '<b>': 'x', 'good-id': 7, 'other-id': '' }));
		expect(readContacts()).toEqual({ 'calm-otter-4821': 'Mum' });
		storage.setItem('camcall.contacts', JSON.stringify(['a']));
		expect(readContacts()).toEqual({});
		storage.setItem('camcall.name', '\u0000\u202E');
		expect(readName()).toBe('');
	});

	test('storage that throws (blocked, full) loses nothing but the saving', () => {
		vi.stubGlobal('localStorage', {
			getItem: () => {
				throw new DOMException('blocked', 'SecurityError');
			},
			setItem: () => {
				throw new DOMException('full', 'QuotaExceededError');
			}
		});
		expect(readName()).toBe('');
		expect(readRecents()).toEqual([]);
		expect(() => saveRecents([recent()])).not.toThrow();
		expect(() => saveName('x')).not.toThrow();
	});
});
