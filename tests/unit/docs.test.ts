/**
 * The machines' descriptions leave the phones' download and come back on /inspect: the build
 * strips them from the minified chunks (strip-docs.ts) and /inspect puts them back from docs
 * extracted from the same definitions (docs.ts). Both halves, against every real machine.
 */
import { describe, expect, it } from 'vitest';
import { sessionMachine } from '$machines/session.machine';
import { callMachine } from '$machines/call.machine';
import { photoMachine } from '$machines/photo.machine';
import { safetyMachine } from '$machines/safety.machine';
import { chatMachine } from '$machines/chat.machine';
import { chartModel, collectMachines } from '$lib/inspector/model';
import { docsOf, withDocs } from '$lib/inspector/docs';
import { stripDescriptions } from '$lib/inspector/strip-docs';

const models = collectMachines(sessionMachine, callMachine, photoMachine, safetyMachine, chatMachine).map(chartModel);
const undocumented = (m: (typeof models)[number]) => ({
	...m,
	nodes: m.nodes.map((n) => ({ ...n, description: null })),
	edges: m.edges.map((e) => ({ ...e, description: null }))
});

describe('docs for /inspect', () => {
	it('put back, they give every machine exactly the descriptions its definition has', () => {
		const docs = docsOf(models);
		const described = models.flatMap((m) => [...m.nodes, ...m.edges]).filter((x) => x.description).length;
		expect(described).toBeGreaterThan(100);
		expect(Object.values(docs).reduce((n, d) => n + Object.keys(d).length, 0)).toBe(described);
		for (const model of models) expect(withDocs(undocumented(model), docs)).toEqual(model);
	});

	it('a machine without docs, or an unknown key such as toString, stays undescribed', () => {
		const [session] = models;
		expect(withDocs(undocumented(session), {})).toEqual(undocumented(session));
		const bare = undocumented(session);
		const docs = { [session.id]: {} as Record<string, string> };
		expect(withDocs(bare, docs).nodes.every((n) => n.description === null)).toBe(true);
	});

	it('a description a definition still has is kept (dev builds strip nothing)', () => {
		const [session] = models;
		const docs = { [session.id]: Object.fromEntries(session.nodes.map((n) => [`n:${n.path}`, 'other'])) };
		expect(withDocs(session, docs).nodes.filter((n) => n.description !== null && n.description !== 'other').length).toBe(
			session.nodes.filter((n) => n.description).length
		);
	});
});

describe('stripping descriptions from minified code', () => {
	it.each([
		['{id:"a",description:"Waits.",on:{}}', '{id:"a",on:{}}'],
		['{on:{},description:"Last."}', '{on:{},}'],
		['{description:"Only."}', '{}'],
		[`{description:'single',a:1}`, '{a:1}'],
		['{description:`template`,a:1}', '{a:1}'],
		['{description:"with \\"quotes\\", commas, } and {braces}",a:1}', '{a:1}'],
		['{a:[{target:"x",description:"one"},{target:"y",description:"two"}]}', '{a:[{target:"x",},{target:"y",}]}']
	])('%s', (code, expected) => {
		expect(stripDescriptions(code)).toBe(expected);
		// Still an object literal that evaluates.
		expect(() => new Function(`return ${expected}`)()).not.toThrow();
	});

	it.each([
		['{description:e.description}'],
		['{description:this.initial.description,a:1}'],
		['{description:`built ${x}`}'],
		['{description:"a"+b}'],
		['{"description":"quoted key (JSON)"}'],
		['x.description="assigned"'],
		['{mydescription:"other key"}']
	])('left alone: %s', (code) => {
		expect(stripDescriptions(code)).toBe(code);
	});
});
