/**
 * A small automatic layout for a chart model, sized for a phone held upright: states are boxes
 * stacked top to bottom, children nested (indented) inside their parent; each transition is a
 * labelled row ("chip") inside its source state, and its arrow leaves the chip to the right,
 * runs down or up a lane in the gutter, and enters the target box. Labels live inside the boxes,
 * so they never overlap; lanes are shared by arrows whose vertical spans do not overlap.
 * Text is measured by character count: the chart draws in a monospace font.
 */
import type { ChartEdge, ChartModel, ChartNode, NodeKind } from './model';

export const metrics = {
	/** Width of one character of the chart's 12px monospace font. */
	charW: 7.25,
	line: 16,
	pad: 8,
	indent: 12,
	titleH: 26,
	gap: 12,
	chipPad: 6,
	chipGap: 4,
	laneGap: 7,
	gutterPad: 12,
	minBoxW: 240,
	maxBoxW: 440
};

export type LineClass = 'title' | 'badge' | 'desc' | 'invoke' | 'event' | 'detail' | 'edesc';

export interface TextLine {
	text: string;
	x: number;
	/** Baseline. */
	y: number;
	cls: LineClass;
	anchor?: 'end';
}

export interface BoxLayout {
	path: string;
	key: string;
	kind: NodeKind;
	depth: number;
	x: number;
	y: number;
	w: number;
	h: number;
	lines: TextLine[];
}

export interface ChipLayout {
	key: string;
	source: string;
	x: number;
	y: number;
	w: number;
	h: number;
	lines: TextLine[];
	targetless: boolean;
}

export interface ArrowLayout {
	/** The transition's key; a transition with two targets has two arrows. */
	key: string;
	target: string;
	d: string;
	lane: number;
}

export interface InitialMarker {
	/** Path of the initial state. */
	target: string;
	x: number;
	y: number;
}

export interface ChartLayout {
	id: string;
	width: number;
	height: number;
	/** Parents before children (children draw on top); the root is boxes[0]. */
	boxes: BoxLayout[];
	chips: ChipLayout[];
	arrows: ArrowLayout[];
	initials: InitialMarker[];
}

/** Greedy word wrap by characters; words longer than a line break after '.' or hard. */
export function wrap(text: string, maxChars: number): string[] {
	const max = Math.max(4, maxChars);
	const words = text.split(/\s+/).filter(Boolean);
	const lines: string[] = [];
	let current = '';
	const pushWord = (word: string) => {
		while (word.length > max) {
			const dot = word.lastIndexOf('.', max - 1);
			const cut = dot > max / 3 ? dot + 1 : max;
			if (current) {
				lines.push(current);
				current = '';
			}
			lines.push(word.slice(0, cut));
			word = word.slice(cut);
		}
		if (!current) current = word;
		else if (current.length + 1 + word.length <= max) current += ' ' + word;
		else {
			lines.push(current);
			current = word;
		}
	};
	words.forEach(pushWord);
	if (current) lines.push(current);
	return lines;
}

const badges: Partial<Record<NodeKind, string>> = { final: 'final', parallel: 'parallel', history: 'history' };

function detailText(edge: ChartEdge): string {
	const parts: string[] = [];
	if (edge.guard) parts.push(`[${edge.guard}]`);
	if (!edge.targets.length) parts.push('(no state change)');
	else if (edge.targets.length === 1 && edge.targets[0] === edge.source) parts.push(edge.reenter ? '↻ re-enters itself' : '↻ itself');
	else parts.push(`→ ${edge.targets.map((t) => t || '(machine)').join(', ')}`);
	return parts.join(' ');
}

interface Anchor {
	key: string;
	x: number;
	y: number;
	targets: string[];
}

function layoutOnce(model: ChartModel, boxW: number) {
	const m = metrics;
	const nodes = new Map<string, ChartNode>(model.nodes.map((n) => [n.path, n]));
	const edgesBySource = new Map<string, ChartEdge[]>();
	for (const edge of model.edges) {
		const list = edgesBySource.get(edge.source) ?? [];
		list.push(edge);
		edgesBySource.set(edge.source, list);
	}
	const boxes: BoxLayout[] = [];
	const chips: ChipLayout[] = [];
	const anchors: Anchor[] = [];
	const initials: InitialMarker[] = [];
	const boxAt = new Map<string, BoxLayout>();

	const lineTop = (top: number) => top + 12;

	const place = (node: ChartNode, x: number, y: number, w: number): number => {
		const box: BoxLayout = { path: node.path, key: node.key, kind: node.kind, depth: node.depth, x, y, w, h: 0, lines: [] };
		boxes.push(box);
		boxAt.set(node.path, box);
		const cx = x + m.pad;
		const cw = w - 2 * m.pad;
		const maxChars = Math.floor(cw / m.charW);

		const badge = badges[node.kind];
		// Titles are 13px: wider characters than the 12px the metrics assume.
		const titleChars = Math.floor((cw * 12) / 13 / m.charW) - (badge ? badge.length + 2 : 0);
		const title = node.key.length > titleChars ? node.key.slice(0, titleChars - 1) + '…' : node.key;
		box.lines.push({ text: title, x: cx, y: y + 17, cls: 'title' });
		if (badge) box.lines.push({ text: badge, x: x + w - m.pad, y: y + 17, cls: 'badge', anchor: 'end' });
		let cy = y + m.titleH;

		for (const text of node.description ? wrap(node.description, maxChars) : []) {
			box.lines.push({ text, x: cx, y: lineTop(cy), cls: 'desc' });
			cy += m.line;
		}
		for (const src of node.invokes) {
			for (const text of wrap(`invoke ${src}`, maxChars)) {
				box.lines.push({ text, x: cx, y: lineTop(cy), cls: 'invoke' });
				cy += m.line;
			}
		}
		if (node.description || node.invokes.length) cy += 4;

		const chipChars = Math.floor((cw - 2 * m.chipPad) / m.charW);
		for (const edge of edgesBySource.get(node.path) ?? []) {
			const lines: TextLine[] = [];
			let ly = cy + 3;
			const add = (text: string, cls: LineClass) => {
				for (const part of wrap(text, chipChars)) {
					lines.push({ text: part, x: cx + m.chipPad, y: lineTop(ly), cls });
					ly += m.line;
				}
			};
			add(edge.event, 'event');
			add(detailText(edge), 'detail');
			if (edge.description) add(edge.description, 'edesc');
			const h = ly - cy + 3;
			chips.push({ key: edge.key, source: edge.source, x: cx, y: cy, w: cw, h, lines, targetless: !edge.targets.length });
			if (edge.targets.length) anchors.push({ key: edge.key, x: cx + cw, y: cy + 3 + 8, targets: edge.targets });
			cy += h + m.chipGap;
		}

		for (const childPath of node.children) {
			const child = nodes.get(childPath)!;
			cy += m.gap;
			const childX = x + m.indent;
			if (node.initial === childPath) initials.push({ target: childPath, x: childX, y: cy + 13 });
			cy += place(child, childX, cy, w - 2 * m.indent);
		}
		if (node.children.length) cy += m.gap - m.pad;

		box.h = cy - y + m.pad;
		return box.h;
	};

	const root = model.nodes[0];
	const height = place(root, 0.5, 0.5, boxW);

	// Lanes: arrows into the same target share one (they merge where they end anyway); target
	// groups take the lowest lane free over their span, shorter spans first.
	type Span = { key: string; target: string; sx: number; sy: number; tx: number; ty: number };
	const spans: Span[] = [];
	const groups = new Map<string, { lo: number; hi: number; lane: number }>();
	for (const a of anchors) {
		for (const target of a.targets) {
			const box = boxAt.get(target);
			if (!box) continue;
			const ty = box.y + 13;
			spans.push({ key: a.key, target, sx: a.x, sy: a.y, tx: box.x + box.w, ty });
			const g = groups.get(target) ?? { lo: ty, hi: ty, lane: -1 };
			g.lo = Math.min(g.lo, a.y - 3, ty - 3);
			g.hi = Math.max(g.hi, a.y + 3, ty + 3);
			groups.set(target, g);
		}
	}
	const lanes: Array<Array<[number, number]>> = [];
	for (const g of [...groups.values()].sort((a, b) => a.hi - a.lo - (b.hi - b.lo))) {
		let lane = lanes.findIndex((used) => used.every(([lo, hi]) => g.hi < lo || g.lo > hi));
		if (lane < 0) {
			lane = lanes.length;
			lanes.push([]);
		}
		lanes[lane].push([g.lo, g.hi]);
		g.lane = lane;
	}
	const laneOf = spans.map((s) => groups.get(s.target)!.lane);
	const rootRight = 0.5 + boxW;
	const arrows: ArrowLayout[] = spans.map((s, i) => {
		const lx = rootRight + m.gutterPad + laneOf[i] * m.laneGap;
		const dy = s.ty - s.sy;
		const dir = dy >= 0 ? 1 : -1;
		const r = Math.min(5, Math.abs(dy) / 2);
		const d =
			`M${s.sx},${s.sy} H${lx - r} Q${lx},${s.sy} ${lx},${s.sy + dir * r} ` +
			`V${s.ty - dir * r} Q${lx},${s.ty} ${lx - r},${s.ty} H${s.tx + 1}`;
		return { key: s.key, target: s.target, d, lane: laneOf[i] };
	});
	const width = Math.ceil(rootRight + m.gutterPad + Math.max(0, lanes.length - 1) * m.laneGap + 6);
	return { boxes, chips, arrows, initials, height: Math.ceil(height + 1), width, lanes: lanes.length };
}

/**
 * Lays out `model` to fit `targetWidth` where it can: a first pass finds how many arrow lanes
 * the gutter needs, the second gives the boxes what is left.
 */
export function layoutChart(model: ChartModel, { targetWidth = 360 }: { targetWidth?: number } = {}): ChartLayout {
	const m = metrics;
	const first = layoutOnce(model, 300);
	const gutter = first.width - 300;
	const boxW = Math.max(m.minBoxW, Math.min(m.maxBoxW, Math.floor(targetWidth - gutter)));
	const out = boxW === 300 ? first : layoutOnce(model, boxW);
	return { id: model.id, width: out.width, height: out.height, boxes: out.boxes, chips: out.chips, arrows: out.arrows, initials: out.initials };
}
