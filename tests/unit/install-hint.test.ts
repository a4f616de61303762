/**
 * The iOS install hint (issue 19, 4d): Safari on iOS offers no install prompt, and iOS (16.4 and
 * later) delivers web push only to an app on the home screen, so the hint says both, in each
 * language. Rendered on the server side of Svelte, as the component's own text.
 */
import { afterEach, describe, expect, test } from 'vitest';
import { render } from 'svelte/server';
import InstallHint from '$lib/components/InstallHint.svelte';
import { i18n } from '$lib/i18n.svelte';

afterEach(() => i18n.set('en'));

describe('the iOS install hint', () => {
	test('English: how to install, and that incoming-call notifications need the installed app', () => {
		i18n.set('en');
		const { body } = render(InstallHint);
		expect(body).toContain('tap Share, then “Add to Home Screen”');
		expect(body).toContain('Notifications of incoming calls need the installed app.');
	});

	test('Chinese: the same two things', () => {
		i18n.set('zh');
		const { body } = render(InstallHint);
		expect(body).toContain('“添加到主屏幕”');
		expect(body).toContain('来电通知需要先安装应用。');
	});
});
