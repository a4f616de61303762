/**
 * ID reservations: durable across kill -9, strict about a damaged file, expiring after 30 days
 * unseen. The crash tests run `npm start`'s entry point as a child process and kill it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ReservationStore, RESERVATION_TTL_MS } from '../../src/server/signaling/reservations.js';
import { connect, register, startChild, type ChildServer, type PeerSocket } from './peer-client';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
	for (const f of cleanup.splice(0).reverse()) await f();
});

function tmpDir() {
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'camcall-store-'));
	cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
	return dir;
}

async function child(dataDir: string): Promise<ChildServer> {
	const s = await startChild({ DATA_DIR: dataDir, RATE_LIMIT: '0' });
	cleanup.push(() => s.stop());
	return s;
}

describe('reservations survive a crash', () => {
	it('kill -9 in the middle of a registration burst loses no ID that got OPEN', async () => {
		const dataDir = tmpDir();
		let s = await child(dataDir);
		const acked: string[] = [];
		const sockets: PeerSocket[] = [];
		let killed = false;
		const total = 400;
		await Promise.all(
			Array.from({ length: total }, async (_, i) => {
				const id = `crash-${i}`;
				try {
					const p = await connect(s.url, id, `token-${i}`);
					sockets.push(p);
					await p.next('OPEN', 5000);
					if (!killed) acked.push(id);
					if (acked.length === 120 && !killed) {
						killed = true;
						s.child.kill('SIGKILL');
					}
				} catch {
					/* cut off by the kill */
				}
			})
		);
		await s.exited;
		for (const p of sockets) p.close();
		expect(acked.length).toBeGreaterThanOrEqual(120);
		expect(acked.length, 'the kill came while registrations were still in flight').toBeLessThan(total);

		s = await child(dataDir); // the dead process's lock is taken over
		const wrong: string[] = [];
		await Promise.all(
			acked.map(async (id) => {
				const stranger = await connect(s.url, id, 'stranger');
				const first = await stranger.next(() => true);
				stranger.close();
				if (first.type !== 'ID-TAKEN') wrong.push(`${id}: ${first.type}`);
			})
		);
		expect(wrong).toEqual([]);
		const i = Number(acked[7].slice('crash-'.length));
		(await register(s.url, acked[7], `token-${i}`)).close();
	});

	it('a torn last line (a write cut short) is dropped; the rest stands', async () => {
		const dataDir = tmpDir();
		let s = await child(dataDir);
		(await register(s.url, 'kept', 'tk')).close();
		await s.stop();
		fs.appendFileSync(path.join(dataDir, 'ids.jsonl'), '{"id":"half","h":"ab');
		s = await child(dataDir);
		expect(s.output()).toMatch(/torn last line/);
		const stranger = await connect(s.url, 'kept', 'other');
		expect((await stranger.next(() => true)).type).toBe('ID-TAKEN');
		stranger.close();
	});
});

describe('a damaged store is a clear startup error, never a silent reset', () => {
	const damaged: [string, string][] = [
		['a corrupt line in the middle', '{"camcall":"ids","v":1,"salt":"00112233445566778899aabbccddeeff"}\n{"id":"a","h":"' + 'a'.repeat(64) + '","t":1}\nGARBAGE\n{"id":"b","h":"' + 'b'.repeat(64) + '","t":1}\n'],
		['a foreign file', 'hello world\n'],
		['a record with a bad ID', '{"camcall":"ids","v":1,"salt":"00112233445566778899aabbccddeeff"}\n{"id":"../x","h":"' + 'a'.repeat(64) + '","t":1}\n']
	];
	it.each(damaged)('%s: npm start exits 1 and names the file and line', async (_name, text) => {
		const dataDir = tmpDir();
		fs.writeFileSync(path.join(dataDir, 'ids.jsonl'), text);
		await expect(startChild({ DATA_DIR: dataDir })).rejects.toThrow(/exited \(1\)[\s\S]*ids\.jsonl, line \d+/);
		// Untouched: the operator can still repair it.
		expect(fs.readFileSync(path.join(dataDir, 'ids.jsonl'), 'utf8')).toBe(text);
	});

	it('an unreadable file is a startup error', async () => {
		if (process.getuid?.() === 0) {
			// root reads anything: a folder in the file's place makes it unreadable instead.
			const dataDir = tmpDir();
			fs.mkdirSync(path.join(dataDir, 'ids.jsonl'));
			await expect(startChild({ DATA_DIR: dataDir })).rejects.toThrow(/Cannot read .*ids\.jsonl/);
			return;
		}
		const dataDir = tmpDir();
		fs.writeFileSync(path.join(dataDir, 'ids.jsonl'), '', { mode: 0o000 });
		await expect(startChild({ DATA_DIR: dataDir })).rejects.toThrow(/Cannot read .*ids\.jsonl/);
	});
});

describe('the store itself', () => {
	it('a reservation expires 30 days after its owner was last seen, not before', async () => {
		let now = Date.UTC(2026, 0, 1);
		const dir = tmpDir();
		const store = await ReservationStore.open(dir, { now: () => now });
		await store.reserve('alice', 'secret');
		now += RESERVATION_TTL_MS - 1000;
		store.touch('alice'); // seen again: the 30 days start over
		now += RESERVATION_TTL_MS - 1000;
		expect(store.check('alice', 'other')).toBe('taken');
		expect(store.check('alice', 'secret')).toBe('owner');
		await store.close();
		// The last-seen time was written: a restart keeps it.
		const reopened = await ReservationStore.open(dir, { now: () => now });
		expect(reopened.check('alice', 'other')).toBe('taken');
		now += 2000;
		expect(reopened.check('alice', 'other')).toBe('free');
		await reopened.close();
	});

	it('reservations made together share one write and all resolve once on disk', async () => {
		const dir = tmpDir();
		const store = await ReservationStore.open(dir);
		await Promise.all(Array.from({ length: 500 }, (_, i) => store.reserve(`id${i}`, `t${i}`)));
		const lines = fs.readFileSync(path.join(dir, 'ids.jsonl'), 'utf8').trim().split('\n');
		expect(lines).toHaveLength(501);
		expect(lines.some((l) => l.includes('t1"'))).toBe(false);
		await store.close();
		expect((fs.statSync(path.join(dir, 'ids.jsonl')).mode & 0o777).toString(8)).toBe('600');
		expect(fs.existsSync(path.join(dir, 'ids.lock'))).toBe(false);
	});

	it('a store past its size refuses new IDs (no unbounded growth)', async () => {
		const store = ReservationStore.memory({ maxEntries: 2 });
		await store.reserve('a', 't');
		await store.reserve('b', 't');
		expect(store.full()).toBe(true);
	});
});
