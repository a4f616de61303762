/**
 * The iOS install hint (issue 19, 4d): Safari on iOS offers no install prompt, and iOS (16.4 and
 * later) delivers web push only to an app on the home screen, so the hint says both, in each
 * language. Rendered on the server side of Svelte, as the component's own text.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { render } from 'svelte/server';
import InstallHint from '$lib/components/InstallHint.svelte';
import { i18n } from '$lib/i18n.svelte';

const iPhone = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

beforeEach(() => vi.stubGlobal('navigator', { userAgent: iPhone }));
afterEach(() => {
	i18n.set('en');
	vi.unstubAllGlobals();
});

describe('the iOS install hint', () => {
	test('English: how to install, and that incoming-call notifications need the installed app', () => {
		i18n.set('en');
		const { body } = render(InstallHint);
		expect(body).toContain('tap Share, then “Add to Home Screen”');
		expect(body).toContain('Notifications of incoming calls need the installed app.');
	});

	test('Chrome and Firefox on iOS: none (their menus are worded otherwise)', () => {
		for (const browser of ['CriOS/126.0.6478.54', 'FxiOS/127.0']) {
			vi.stubGlobal('navigator', { userAgent: iPhone.replace('Version/17.5', browser) });
			expect(render(InstallHint).body).not.toContain('Add to Home Screen');
		}
	});

	test('Chinese: the same two things', () => {
		i18n.set('zh');
		const { body } = render(InstallHint);
		expect(body).toContain('“添加到主屏幕”');
		expect(body).toContain('来电通知需要先安装应用。');
	});
});
