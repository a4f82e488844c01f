// SPDX-License-Identifier: MIT
// The ptlab report's script: draws the grid of every cell's verdicts and,
// for the cell clicked, its lines, the timeline of its stress trace beside
// the model's counterexample, and the counterexample's steps, from the
// page's data in #ptlab-data (timelines in the compact form of
// cli/report_timeline.h, their strings shared in data.strings). No
// network, no library. A page opened at #cell-N clicks cell N's glyph once
// drawn. Errors (thrown, rejected, console.error) are counted on <body
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
	const strings = data.strings || [""];
	const S = (i) => strings[i] || "";

	// A compact timeline (cli/report_timeline.h) as trace events.
	function decode(tl) {
		const events = [];
		for (const [tid, name, order] of tl.lanes) {
			events.push({ ph: "M", name: "thread_name", tid, ts: 0, args: { name: S(name) } });
			events.push({ ph: "M", name: "thread_sort_index", tid, ts: 0,
				args: { sort_index: order } });
		}
		for (const v of tl.ev) {
			const args = {};
			if (v[6]) args.function = S(v[6]);
			if (v[7]) args.table = S(v[7]);
			if (v[8]) args.generation = v[8] - 1;
			if (v[9]) args.what = S(v[9]);
			events.push({ ph: S(v[0]), cat: S(v[1]), name: S(v[2]), ts: tl.t0 + v[3],
				dur: v[4], tid: v[5], id: v[10], args });
		}
		return { traceEvents: events };
	}

	// The grid: as `ptlab report --grid` prints it (cli/grid.c), a table per
	// scenario, a row per profile, a column per generation and fix setting,
	// all in the order the cells first show them. A scenario's generations
	// are the values of the generation fields (data.generation_keys) that
	// differ among its cells.
	const GEN_KEYS = data.generation_keys || ["collapse_table", "retract"];
	const GLYPH = {
		".": ["safe by the rule, both oracles agree", "g-safe"],
		"x": ["unsafe by the rule, both oracles agree", "g-unsafe"],
		"B": ["both oracles disagree with the rule", "g-bad"],
		"S": ["the stress matrix disagrees with the rule", "g-bad"],
		"M": ["the model disagrees with the rule", "g-bad"],
		"!": ["the model gave no verdict", "g-bad"],
		"?": ["the stress run was inconclusive", "g-unsure"],
		"-": ["not run", "g-none"],
	};
	const SEVERITY = "-.x?!MSB";
	const order = (list, v) => { if (!list.includes(v)) list.push(v); return list.indexOf(v); };
	const profiles = [], scenarios = [], fixes = [];
	const varies = {};
	for (const c of cells) {
		order(profiles, c.profile);
		order(fixes, c.fixes);
		if (order(scenarios, c.scenario) >= 0 && !varies[c.scenario])
			varies[c.scenario] = { first: c, keys: new Set() };
		for (const k of GEN_KEYS)
			if ((c[k] || "") !== (varies[c.scenario].first[k] || ""))
				varies[c.scenario].keys.add(k);
	}
	const genOf = (c) => GEN_KEYS.filter((k) => varies[c.scenario].keys.has(k))
		.map((k) => c[k]).join("/");
	const gens = {};
	for (const c of cells)
		order(gens[c.scenario] = gens[c.scenario] || [], genOf(c));
	// slot "scenario|gen|fix|profile" -> the cells in it
	const slots = new Map();
	cells.forEach((c, i) => {
		const key = [c.scenario, genOf(c), c.fixes, c.profile].join("|");
		(slots.get(key) || slots.set(key, []).get(key)).push(i);
	});
	const worst = (list) => list.map((i) => cells[i].glyph || "-")
		.reduce((a, g) => SEVERITY.indexOf(g) > SEVERITY.indexOf(a) ? g : a, "-");
	const FIX_KEYS = "123456789abcdefghijklmnopqrstuvwxyz";
	const gridDiv = document.getElementById("grid");
	const detail = document.getElementById("detail");
	for (const sc of scenarios) {
		const t = el("table", { class: "grid", "data-scenario": sc }, gridDiv);
		text(el("caption", {}, t), sc);
		const thead = el("thead", {}, t);
		if (gens[sc].length > 1) {
			const tr = el("tr", {}, thead);
			el("th", {}, tr);
			for (const g of gens[sc])
				text(el("th", { colspan: fixes.length, class: "gen" }, tr), g);
		}
		const keys = el("tr", {}, thead);
		el("th", {}, keys);
		for (const g of gens[sc])
			fixes.forEach((f, k) => text(el("th", { class: "fix", title: f }, keys),
				FIX_KEYS[k] || "*"));
		const tbody = el("tbody", {}, t);
		for (const p of profiles) {
			const tr = el("tr", {}, tbody);
			text(el("th", { class: "profile" }, tr), p);
			for (const g of gens[sc])
				for (const f of fixes) {
					const list = slots.get([sc, g, f, p].join("|")) || [];
					const glyph = worst(list);
					const [words, cls] = GLYPH[glyph];
					const td = el("td", { class: "g " + cls, "data-glyph": glyph,
						"data-cells": list.join(","),
						title: `${p} ${f} ${sc}${g ? "/" + g : ""}: ${words}` }, tr);
					text(td, glyph);
					if (list.length)
						td.addEventListener("click", () => show(list, td));
				}
		}
	}

	// ---- a cell, clicked ----

	function pre(parent, header, line) {
		const e = el("pre", { class: "line" }, parent);
		text(e, (header ? header + "\n" : "") + line);
		return e;
	}
	function showCell(i) {
		const c = cells[i], s = c.stress, m = c.model;
		const walkers = (c.walkers_text || "").split(",").filter((w) => w);
		const gen = genOf(c);
		const sec = el("section", { class: "cell-detail", "data-cell": i }, detail);
		text(el("h2", {}, sec), [c.profile, c.fixes, c.scenario + (gen ? "/" + gen : ""),
			walkers.join(",") + " walkers"].join(" \u00b7 ") + ": " +
			GLYPH[c.glyph || "-"][0]);
		const byWalker = c.rule_by_walker || {};
		text(el("p", {}, sec), "The rule: " + (c.rule || "?") +
			(walkers.length > 1 ? " (" + walkers.map((w) => w + " " + byWalker[w]).join(", ") + ")" : "") +
			(c.possible && c.possible.length ? "; it allows " + c.possible.join(", ") : "") +
			". Stress matrix: " + (s ? s.verdict +
				(s.verdict_reason ? " (" + s.verdict_reason + ")" : "") : "not run") +
			". Model: " + (m ? m.judgement + " (" + m.verdict + (m.kind ? ": " + m.kind +
				(m.walker ? ", " + m.walker + " walker" : "") : "") + ")" : "not run") + ".");
		const headers = data.line_headers || {};
		if (s && s.line)
			pre(sec, headers.stress, s.line).dataset.source = "stress";
		if (m && m.line)
			pre(sec, headers.model, m.line).dataset.source = "model";
		if (m && m.error)
			text(el("p", {}, sec), "The model's error: " + m.error);
		if (s && s.what)
			text(el("p", {}, sec), "First violation: " + s.what);
		if (c.aba_timeline) {
			// mremap: a safe cell's ABA trail (the model's witness of the
			// seed's "moved back and forth") and the stress lab's count
			if (s && typeof s.aba === "number")
				text(el("p", {}, sec), `Stress lab: ${s.aba} walker sections whose table moved ` +
					`away and back inside them and whose re-checks passed (${s.aba_pud} at the ` +
					`PUD level); ${s.aba_wrong} returned a page not mapped there.`);
			const fig = timeline(decode(c.aba_timeline), i, "model",
				"Model ABA trail: it ends safe (one step per column)");
			el("div", { class: "timeline-pair" }, sec).appendChild(fig);
			const ol = el("ol", { class: "counterexample aba-trail" }, sec);
			for (const step of c.aba_trail || [])
				text(el("li", {}, ol), S(step));
		}
		if (c.rule !== "unsafe" && !c.stress_timeline && !c.model_timeline)
			return;
		const pair = el("div", { class: "timeline-pair" }, sec);
		const side = (tl, source, caption) => {
			if (!tl) {
				text(el("div", { class: "no-trace", "data-source": source }, pair),
					caption + ": no trace in the saved results");
				return;
			}
			const fig = timeline(decode(tl), i, source, caption);
			pair.appendChild(fig);
			if (tl.left_out)
				text(el("p", { class: "left-out" }, fig), `${tl.ev.length} of its ${tl.events} ` +
					"events, those nearest the violation; the full trace is in the matrix's JSON.");
		};
		side(c.stress_timeline, "stress", "Stress run (real threads, ms)");
		side(c.model_timeline, "model", "Model counterexample (one step per column)");
		if (c.counterexample) {
			text(el("p", {}, sec),
				`The model's counterexample: ${m.kind} by the ${m.walker || "?"} walker.`);
			const ol = el("ol", { class: "counterexample" }, sec);
			for (const step of c.counterexample)
				text(el("li", {}, ol), S(step));
		}
	}
	function show(list, td) {
		for (const old of document.querySelectorAll("td.g.selected"))
			old.classList.remove("selected");
		td.classList.add("selected");
		detail.textContent = "";
		for (const i of list)
			showCell(i);
	}

	// ---- the summary and the legends ----

	const count = (pick) => {
		const n = {};
		for (const c of cells) {
			const v = pick(c);
			if (v)
				n[v] = (n[v] || 0) + 1;
		}
		return Object.keys(n).sort().map((v) => `${n[v]} ${v}`).join(", ") || "none";
	};
	const unsafe = cells.filter((c) => c.rule === "unsafe").length;
	const notable = cells.filter((c) => !".x".includes(c.glyph || "-")).length;
	text(document.getElementById("summary"),
		`${cells.length} cell${cells.length === 1 ? "" : "s"}, ${unsafe} unsafe by the rule; ` +
		`${notable} to look at. Stress verdicts: ${count((c) => c.stress && c.stress.verdict)}; ` +
		`model verdicts: ${count((c) => c.model && c.model.judgement)}. ` +
		"Click a cell for its lines, its timeline and its counterexample. " +
		`ptlab ${data.ptlab_version}.`);
	const legend = document.getElementById("legend");
	for (const g of SEVERITY.slice(1) + "-") {
		const item = el("span", {}, legend);
		text(el("b", { class: "glyph " + GLYPH[g][1] }, item), g);
		text(item, " " + GLYPH[g][0]);
	}
	text(el("span", {}, legend),
		"fixes: " + fixes.map((f, k) => (FIX_KEYS[k] || "*") + " " + f).join(", "));
	const tlegend = document.getElementById("timeline-legend");
	for (const [sym, what] of [["blue bar", "interrupts off (GUP-fast)"],
		["pale bar", "RCU read-side section (interrupts on)"], ["thin purple bar", "PTE lock held"],
		["\u25a0", "PMD or PUD cleared"], ["\u25b6", "unshared table handed over"],
		["\u25b2", "deposit links written (overwrite)"], ["\u2716", "table freed"],
		["\u25c7", "frame reused"], ["red", "stale read or lock, violation"],
		["arrow", "IPI (dashed: held back)"]])
		text(el("span", {}, tlegend), sym + " " + what);
	// The barrier table of ptlab study barriers (report --barriers): for
	// each barrier and memory model, the safe cells that turn unsafe
	// without it, grouped by scenario and fixes with their profiles.
	if (data.barriers) {
		const div = document.getElementById("barriers");
		text(el("h2", {}, div), "Barriers: the cells that need each one");
		text(el("p", {}, div), "Each safe cell checked again by the model with one " +
			"barrier left out (ptlab study barriers); a cell that turns unsafe needs it.");
		const table = el("table", { class: "barriers" }, div);
		const head = el("tr", {}, table);
		for (const h of ["barrier", "memory", "needed by", "cells (scenario, re-check, " +
			"sync policy: profiles)"])
			text(el("th", {}, head), h);
		for (const b of data.barriers)
			for (const m of b.memory) {
				const tr = el("tr", {}, table);
				text(el("td", { title: b.kernel + "\n" + b.orders }, tr), b.name);
				text(el("td", {}, tr), m.memory);
				const needed = m.needed_by || [];
				text(el("td", {}, tr), m.present ?
					`${needed.length} of ${m.safe_cells}` : "not a barrier of " + m.memory);
				const groups = new Map();
				for (const c of needed) {
					const key = `${c.scenario}, ${c.pmd_recheck ? "re-check" : "no re-check"}` +
						`, ${c.sync}`;
					if (!groups.has(key))
						groups.set(key, []);
					groups.get(key).push(c.profile);
				}
				const td = el("td", {}, tr);
				for (const [k, profiles] of groups)
					text(el("div", {}, td), `${k}: ${profiles.join(", ")}`);
			}
	}
	// #cell-N: that cell, as if clicked.
	const want = /^#cell-(\d+)$/.exec(location.hash);
	if (want) {
		const td = [...document.querySelectorAll("td.g")].find((t) =>
			t.dataset.cells.split(",").includes(want[1]));
		if (td)
			td.click();
	}
	body.dataset.status = "rendered";
})();
