/**
 * Video on iOS Safari (issue 19, 4b): every <video> plays inline (without `playsinline` iOS
 * opens a fullscreen player, or shows black) and starts muted where it must autoplay; the far
 * side's video, which plays with its sound, gets a "Tap to play" button when the browser refuses
 * play() without a gesture (NotAllowedError), and only then.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { followPlayback, needsTap, type PlayableVideo } from '$lib/playback';
import { domError } from './fakes';

const root = path.resolve(import.meta.dirname, '../..');

/** A <video> whose play() the test answers: refused with `refuse` (an error name), else plays. */
class Video extends EventTarget implements PlayableVideo {
	paused = true;
	srcObject: unknown = null;
	refuse: string | null = null;
	plays = 0;
	async play() {
		this.plays++;
		if (this.refuse) throw domError(this.refuse);
		this.paused = false;
		this.dispatchEvent(new Event('playing'));
	}
	/** A new stream attached: its metadata arrives. */
	attach(stream: unknown = {}) {
		this.srcObject = stream;
		this.paused = true;
		this.dispatchEvent(new Event('loadedmetadata'));
	}
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('tap to play: the decision', () => {
	test('only the autoplay policy’s refusal asks for a tap', () => {
		expect(needsTap(domError('NotAllowedError'))).toBe(true);
		expect(needsTap(domError('AbortError'))).toBe(false);
		expect(needsTap(domError('NotSupportedError'))).toBe(false);
		expect(needsTap(new Error('x'))).toBe(false);
		expect(needsTap(null)).toBe(false);
		expect(needsTap(undefined)).toBe(false);
	});

	test('refused (iOS: sound without a gesture): blocked; the tap’s play() goes through: unblocked', async () => {
		const video = new Video();
		video.refuse = 'NotAllowedError';
		const seen: boolean[] = [];
		const stop = followPlayback(video, (b) => seen.push(b));
		// No stream yet: nothing to play, nothing asked.
		await settle();
		expect(video.plays).toBe(0);
		video.attach();
		await settle();
		expect(seen).toEqual([true]);
		// The tap: a gesture, so the browser lets it play.
		video.refuse = null;
		await video.play();
		expect(seen).toEqual([true, false]);
		stop();
	});

	test('allowed: it plays and nothing is asked', async () => {
		const video = new Video();
		video.srcObject = {};
		const seen: boolean[] = [];
		followPlayback(video, (b) => seen.push(b));
		await settle();
		expect(video.paused).toBe(false);
		expect(seen.every((b) => b === false)).toBe(true);
		expect(seen.length).toBeGreaterThan(0);
	});

	test('an interrupted load (a new stream) is not a refusal: no button; the next stream is played in turn', async () => {
		const video = new Video();
		video.refuse = 'AbortError';
		const seen: boolean[] = [];
		followPlayback(video, (b) => seen.push(b));
		video.attach();
		await settle();
		expect(seen).toEqual([]);
		video.refuse = null;
		video.attach();
		await settle();
		expect(video.paused).toBe(false);
		expect(seen).not.toContain(true);
	});

	test('already playing (autoplay worked): not played again; after cleanup nothing is reported', async () => {
		const video = new Video();
		video.srcObject = {};
		video.paused = false;
		const seen: boolean[] = [];
		const stop = followPlayback(video, (b) => seen.push(b));
		await settle();
		expect(video.plays).toBe(0);
		stop();
		video.refuse = 'NotAllowedError';
		video.attach();
		await settle();
		expect(seen).toEqual([]);
	});
});

/** Every <video> in the app's views and actors, with its attributes or the properties set on it. */
function videos(): { where: string; tag: string }[] {
	const found: { where: string; tag: string }[] = [];
	const walk = (dir: string) => {
		for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
			const file = path.join(dir, entry.name);
			if (entry.isDirectory()) walk(file);
			else if (/\.(svelte|ts)$/.test(entry.name)) {
				const text = fs.readFileSync(file, 'utf8');
				const where = path.relative(root, file);
				// Markup only: a component's script and comments mention <video> in words.
				const markup = entry.name.endsWith('.svelte') ? text.replace(/<script[\s\S]*?<\/script>|<!--[\s\S]*?-->/g, '') : '';
				for (const m of markup.matchAll(/<video\b[^>]*>/g)) found.push({ where, tag: m[0] });
				// A detached element: the properties set on it within the next few lines.
				for (const m of text.matchAll(/(\w+) = document\.createElement\('video'\);((?:\n.*){0,3})/g)) found.push({ where, tag: m[2] });
			}
		}
	};
	walk(path.join(root, 'src'));
	walk(path.join(root, 'machines'));
	return found;
}

describe('every <video> plays inline and, where it autoplays silently, muted', () => {
	test('found where they are (the page’s Video component, the scanner, the detached readers)', () => {
		const where = videos().map((v) => v.where);
		expect(where).toEqual(
			expect.arrayContaining([
				'src/lib/components/Video.svelte',
				'src/lib/components/ScanSheet.svelte',
				'machines/actors/scan.ts',
				'machines/actors/photo-io.ts'
			])
		);
	});

	test.each(videos().map((v) => [v.where, v.tag]))('%s: inline, muted (or muted by default)', (where, tag) => {
		expect(tag, where).toMatch(/playsinline|playsInline = true/);
		expect(tag, where).toMatch(/\bmuted\b|\{muted\}/);
	});

	test('the Video component starts muted unless told otherwise; only the far side’s video is unmuted', () => {
		const component = fs.readFileSync(path.join(root, 'src/lib/components/Video.svelte'), 'utf8');
		expect(component).toMatch(/muted = true,/);
		const page = fs.readFileSync(path.join(root, 'src/routes/+page.svelte'), 'utf8');
		const uses = [...page.matchAll(/<Video\b[\s\S]*?\/>/g)].map((m) => m[0]);
		expect(uses).toHaveLength(2);
		for (const use of uses) {
			const unmuted = /muted=\{false\}/.test(use);
			expect(unmuted, use).toBe(/testid="remote-video"/.test(use));
		}
	});
});
