// SPDX-License-Identifier: MIT
// The ptlab report's script: draws the matrix and, for every unsafe cell,
// the timeline of its stress trace beside the model's counterexample, from
// the Chrome trace-event documents in #ptlab-data. No network, no library.
// Errors (thrown, rejected, console.error) are counted on <body
// data-errors>, and <body data-status> says "rendered" once all is drawn:
// the browser test reads both.
"use strict";
(function () {
	const body = document.body;
	function recordError(what) {
		body.dataset.errors = String(Number(body.dataset.errors || 0) + 1);
		const log = body.dataset.errorLog || "";
		body.dataset.errorLog = log + String(what).slice(0, 200) + "\n";
	}
	window.addEventListener("error", (e) => recordError(e.message));
	window.addEventListener("unhandledrejection", (e) => recordError(e.reason));
	const consoleError = console.error.bind(console);
	console.error = function (...args) {
		recordError(args.join(" "));
		consoleError(...args);
	};

	const SVG = "http://www.w3.org/2000/svg";
	function el(name, attrs, parent, ns) {
		const e = ns ? document.createElementNS(SVG, name) : document.createElement(name);
		for (const k in attrs || {})
			e.setAttribute(k, attrs[k]);
		if (parent)
			parent.appendChild(e);
		return e;
	}
	function text(parent, s) {
		parent.appendChild(document.createTextNode(s));
		return parent;
	}
	function svg(name, attrs, parent) {
		return el(name, attrs, parent, true);
	}
	function tip(node, lines) {
		text(svg("title", {}, node), lines.filter((l) => l).join("\n"));
	}

	// Verdicts: a symbol and a word, not a colour alone.
	const VERDICT = {
		pass: ["\u2714 pass", "v-pass"],
		fail: ["\u2718 FAIL", "v-fail"],
		inconclusive: ["? inconclusive", "v-inconclusive"],
		error: ["\u2718 error", "v-fail"],
	};
	function verdictCell(tr, v, extra) {
		const [label, cls] = VERDICT[v] || ["\u2013 not run", "v-none"];
		const td = el("td", { class: cls }, tr);
		text(td, label + (extra ? " " + extra : ""));
		return td;
	}
	function fmt(x, digits) {
		return typeof x === "number" ? x.toFixed(digits) : "\u2013";
	}

	// ---- a timeline ----

	const LABEL_W = 150, PLOT_W = 760, LANE_H = 30, TOP = 24;
	// What a track holds across steps, drawn as bars: [height, offset].
	const BARS = { "irqs-off": [14, 6], "rcu-section": [14, 6], "lock": [22, 2], "ptl": [4, 21] };

	function timeline(trace, cellIndex, source, caption) {
		const fig = el("figure", {});
		text(el("figcaption", {}, fig), caption);
		const events = trace.traceEvents || [];
		const tracks = new Map();
		for (const e of events)
			if (e.ph === "M" && e.name === "thread_name")
				tracks.set(e.tid, { name: e.args.name, order: tracks.size });
		for (const e of events)
			if (e.ph === "M" && e.name === "thread_sort_index" && tracks.has(e.tid))
				tracks.get(e.tid).order = e.args.sort_index;
		const lanes = [...tracks.entries()].sort((a, b) => a[1].order - b[1].order);
		const laneOf = new Map(lanes.map(([tid], i) => [tid, i]));
		let t0 = Infinity, t1 = -Infinity;
		for (const e of events) {
			if (e.ph === "M")
				continue;
			t0 = Math.min(t0, e.ts);
			t1 = Math.max(t1, e.ts + (e.dur || 0));
		}
		if (!(t1 > t0))
			t1 = t0 + 1;
		const x = (t) => LABEL_W + ((t - t0) / (t1 - t0)) * PLOT_W;
		const y = (tid) => TOP + laneOf.get(tid) * LANE_H;
		const height = TOP + lanes.length * LANE_H + 30;
		const root = svg("svg", {
			class: "timeline", width: LABEL_W + PLOT_W + 20, height,
			viewBox: `0 0 ${LABEL_W + PLOT_W + 20} ${height}`,
			"data-cell": cellIndex, "data-source": source, "data-lanes": lanes.length,
		}, fig);
		const unit = source === "model" ? "step" : "ms";
		const tlabel = (t) => source === "model" ? "step " + (Math.floor(t) + 1)
			: (t / 1000).toFixed(3) + " ms";
		text(svg("text", { x: LABEL_W, y: 14 }, root), tlabel(t0));
		text(svg("text", { x: LABEL_W + PLOT_W, y: 14, "text-anchor": "end" }, root),
			tlabel(t1) + (unit === "ms" ? " (since the run started)" : ""));
		for (const [tid, info] of lanes) {
			const g = svg("g", { class: "lane", "data-tid": tid }, root);
			svg("rect", { class: "lane-bg", x: LABEL_W, y: y(tid), width: PLOT_W,
				height: LANE_H - 4 }, g);
			text(svg("text", { x: 4, y: y(tid) + 17 }, g), info.name);
		}
		const layer = svg("g", { class: "events" }, root);
		const deferred = [];
		// Slices first (bars), then markers above them.
		for (const e of events) {
			if (e.ph !== "X" || !laneOf.has(e.tid) || e.cat === "step" ||
			    (source === "model" && e.dur <= 1 && !(e.cat in BARS)))
				continue;
			const [h, off] = BARS[e.cat] || [6, 17];
			const r = svg("rect", { class: "bar-" + e.cat, x: x(e.ts), y: y(e.tid) + off,
				width: Math.max(1, x(e.ts + e.dur) - x(e.ts)), height: h }, layer);
			tip(r, [e.name, e.args && e.args.function && "function: " + e.args.function,
				tlabel(e.ts) + " .. " + tlabel(e.ts + e.dur)]);
		}
		const flows = new Map();
		for (const e of events) {
			if (e.ph === "s" || e.ph === "f") {
				const f = flows.get(e.id) || {};
				f[e.ph] = e;
				flows.set(e.id, f);
				continue;
			}
			if (e.ph === "i" && e.cat === "ipi-deferred")
				deferred.push(e);
			if (e.ph !== "i" && !(e.ph === "X" && (source === "model" && e.dur <= 1)))
				continue;
			if (!laneOf.has(e.tid))
				continue;
			marker(layer, e, x(e.ts + (e.ph === "X" ? e.dur / 2 : 0)), y(e.tid), tlabel, root);
		}
		// IPIs: an arrow from sender to target; one the target held back
		// (interrupts off) ends where it was held, then waits, dashed,
		// until the section ends and the IPI is taken.
		for (const f of flows.values()) {
			if (!f.s || !f.f || !laneOf.has(f.s.tid) || !laneOf.has(f.f.tid))
				continue;
			const held = deferred.find((d) => d.tid === f.f.tid && d.ts >= f.s.ts && d.ts <= f.f.ts);
			const x0 = x(f.s.ts), y0 = y(f.s.tid) + 13, y1 = y(f.f.tid) + 13;
			const xm = held ? x(held.ts) : x(f.f.ts);
			const a = svg("path", { class: "arrow", d: `M${x0},${y0} L${xm},${y1}`,
				"marker-end": "url(#arrowhead)" }, layer);
			tip(a, ["IPI from " + tracks.get(f.s.tid).name + " to " + tracks.get(f.f.tid).name,
				held ? "held back until the section ended" : ""]);
			if (held)
				svg("path", { class: "held", d: `M${xm},${y1} L${x(f.f.ts)},${y1}` }, layer);
		}
		const defs = svg("defs", {}, root);
		const m = svg("marker", { id: "arrowhead", markerWidth: 8, markerHeight: 8, refX: 7,
			refY: 4, orient: "auto" }, defs);
		svg("path", { d: "M0,0 L8,4 L0,8 z", fill: "#333" }, m);
		return fig;
	}

	const LABELLED = new Set(["free", "reuse", "overwrite", "clear", "handover", "violation",
		"stale-read"]);

	function marker(layer, e, cx, top, tlabel, root) {
		const cy = top + 13, cat = e.cat, args = e.args || {};
		let node;
		if (cat === "violation") {
			node = svg("g", { class: "violation-marker" }, layer);
			svg("line", { class: "violation-line", x1: cx, x2: cx, y1: TOP - 4,
				y2: root.getAttribute("height") - 24 }, node);
			svg("path", { class: "m-violation", d: `M${cx},${cy - 9} L${cx + 8},${cy + 7} L${cx - 8},${cy + 7} z` }, node);
			text(svg("text", { x: cx + 10, y: cy - 4 }, node), "VIOLATION");
		} else if (cat === "free") {
			node = svg("path", { class: "m-free", d: `M${cx - 5},${cy - 5} L${cx + 5},${cy + 5} M${cx + 5},${cy - 5} L${cx - 5},${cy + 5}`,
				"stroke-width": 3 }, layer);
		} else if (cat === "reuse") {
			node = svg("path", { class: "m-reuse", d: `M${cx},${cy - 6} L${cx + 6},${cy} L${cx},${cy + 6} L${cx - 6},${cy} z` }, layer);
		} else if (cat === "clear") {
			node = svg("rect", { class: "m-clear", x: cx - 4, y: cy - 4, width: 8, height: 8 }, layer);
		} else if (cat === "handover") {
			node = svg("path", { class: "m-handover", d: `M${cx - 5},${cy - 6} L${cx + 6},${cy} L${cx - 5},${cy + 6} z` }, layer);
		} else if (cat === "overwrite") {
			node = svg("path", { class: "m-overwrite", d: `M${cx},${cy - 6} L${cx + 6},${cy + 5} L${cx - 6},${cy + 5} z` }, layer);
		} else {
			node = svg("circle", { class: "m-" + cat, cx, cy,
				r: cat === "stale-read" ? 5 : cat === "read" ? 2.5 : 3 }, layer);
		}
		if (LABELLED.has(cat) && args.table)
			text(svg("text", { x: cx + 4, y: top + 27, class: "table-label" }, layer), args.table);
		tip(node, [e.name, args.function && "function: " + args.function,
			args.table && "table " + args.table + (args.generation !== undefined ? " (generation " + args.generation + ")" : ""),
			args.what, tlabel(e.ts)]);
	}

	// ---- the page ----

	const data = JSON.parse(document.getElementById("ptlab-data").textContent);
	const cells = data.cells || [];
	const table = document.getElementById("matrix");
	const head = el("tr", {}, el("thead", {}, table));
	for (const h of ["profile", "fixes", "scenario", "generation", "walkers",
		"rule (by walker)", "stress verdict", "model verdict", "first violation (ms)",
		"stale locks", "overlaps (defended)", "timeline"])
		text(el("th", {}, head), h);
	const tbody = el("tbody", {}, table);
	const timelines = document.getElementById("timelines");
	const COLLAPSE = new Set(["collapse-zap", "collapse-pin"]);
	const ruleWord = (r) => r === "unsafe" ? "\u26a0 unsafe" : r === "safe" ? "\u25cf safe" : "?";
	const count = { stress: {}, model: {} };
	let unsafe = 0, failed = 0;
	cells.forEach((c, i) => {
		const walkers = (c.walkers_text || "").split(",").filter((w) => w);
		const byWalker = c.rule_by_walker || {};
		// The collapse-table generation matters to the collapse scenarios
		// only, the retract generation to retract (a document from before
		// it had generations: the default, free).
		const generation = COLLAPSE.has(c.scenario) ? c.collapse_table
			: c.scenario === "retract" ? (c.retract || "free") : "";
		const tr = el("tr", { class: "cell", "data-cell": i, "data-rule": c.rule || "",
			"data-scenario": c.scenario, "data-generation": generation }, tbody);
		text(el("td", {}, tr), c.profile);
		text(el("td", {}, tr), c.fixes);
		text(el("td", {}, tr), c.scenario);
		text(el("td", {}, tr), generation || "\u2013");
		text(el("td", {}, tr), walkers.join(", "));
		const rule = el("td", { class: c.rule === "unsafe" ? "rule-unsafe" : "",
			title: walkers.map((w) => w + ": " + (byWalker[w] || "?")).join(", ") }, tr);
		text(rule, walkers.length > 1 ? walkers.map((w) => ruleWord(byWalker[w])).join(" / ")
			: ruleWord(c.rule));
		const s = c.stress, m = c.model;
		verdictCell(tr, s && s.verdict, s && s.verdict !== "pass" && s.verdict_reason ? "(" + s.verdict_reason + ")" : "");
		verdictCell(tr, m && m.judgement, m ? "(" + m.verdict + (m.kind ? ": " + m.kind +
			(m.walker ? ", " + m.walker + " walker" : "") : "") + ")" : "");
		if (s)
			count.stress[s.verdict] = (count.stress[s.verdict] || 0) + 1;
		if (m)
			count.model[m.judgement] = (count.model[m.judgement] || 0) + 1;
		text(el("td", { class: "num" }, tr), fmt(s && s.first_violation_ms, 1));
		text(el("td", { class: "num" }, tr),
			s && s.violations && typeof s.violations.stale_lock === "number"
				? String(s.violations.stale_lock) : "\u2013");
		text(el("td", { class: "num" }, tr), s ? `${s.overlaps} (${s.defended})` : "\u2013");
		const link = el("td", {}, tr);
		failed += (s && s.verdict !== "pass") || (m && m.judgement !== "pass") ? 1 : 0;
		// mremap: a safe cell's ABA trail (the model's witness) and the
		// stress lab's aba count, the seed's "moved back and forth"
		if (c.rule !== "unsafe" && c.aba_trace) {
			text(el("a", { href: "#tl-" + i }, link), "ABA trail");
			const sec = el("section", { id: "tl-" + i, class: "timeline-section", "data-cell": i }, timelines);
			text(el("h2", {}, sec), [c.profile, c.fixes, c.scenario].join(" \u00b7 ") +
				": safe, with the seed's ABA");
			if (s && typeof s.aba === "number")
				text(el("p", {}, sec), `Stress lab: ${s.aba} walker sections whose table moved ` +
					`(and back) inside them and whose re-checks passed (${s.aba_pud} at the PUD ` +
					`level), ${s.aba_wrong} returned a page not mapped there.`);
			const pair = el("div", { class: "timeline-pair" }, sec);
			pair.appendChild(timeline(c.aba_trace, i, "model", "Model ABA trail (one step per column)"));
		}
		if (c.rule !== "unsafe")
			return;
		unsafe++;
		text(el("a", { href: "#tl-" + i }, link), "timeline");
		const sec = el("section", { id: "tl-" + i, class: "timeline-section", "data-cell": i }, timelines);
		text(el("h2", {}, sec), [c.profile, c.fixes, c.scenario + (generation ? "/" + generation : ""),
			walkers.join(",") + " walkers"].join(" \u00b7 ") + ": unsafe" +
			(walkers.length > 1 ? " (" + walkers.map((w) => w + " " + byWalker[w]).join(", ") + ")" : ""));
		if (s && s.what)
			text(el("p", {}, sec), "First violation: " + s.what);
		if (m && m.kind)
			text(el("p", {}, sec), `The model's counterexample: ${m.kind} by the ${m.walker || "?"} walker.`);
		const pair = el("div", { class: "timeline-pair" }, sec);
		const side = (trace, source, caption) => {
			if (trace)
				pair.appendChild(timeline(trace, i, source, caption));
			else
				text(el("div", { class: "no-trace", "data-source": source }, pair),
					caption + ": no trace in the saved results");
		};
		side(c.stress_trace, "stress", "Stress run (real threads, ms)");
		side(c.model_trace, "model", "Model counterexample (one step per column)");
	});
	const tally = (counts) => Object.keys(counts).sort().map((v) => `${counts[v]} ${v}`).join(", ") || "none";
	text(document.getElementById("summary"),
		`${cells.length} cell${cells.length === 1 ? "" : "s"}, ${unsafe} unsafe ` +
		"(each with its timeline below); " +
		`${failed} disagree with the rule. Stress verdicts: ${tally(count.stress)}; ` +
		`model verdicts: ${tally(count.model)}. ptlab ${data.ptlab_version}.`);
	const legend = document.getElementById("legend");
	for (const [sym, what] of [["\u2714", "pass"], ["\u2718", "fail"], ["?", "inconclusive"],
		["\u26a0", "unsafe by the rule"], ["blue bar", "interrupts off (GUP-fast)"],
		["pale bar", "RCU read-side section (interrupts on)"], ["thin purple bar", "PTE lock held"],
		["\u25a0", "PMD or PUD cleared"], ["\u25b6", "unshared table handed over"],
		["\u25b2", "deposit links written (overwrite)"], ["\u2716", "table freed"],
		["\u25c7", "frame reused"], ["red", "stale read or lock, violation"],
		["arrow", "IPI (dashed: held back)"]])
		text(el("span", {}, legend), sym + " " + what);
	body.dataset.status = "rendered";
})();
