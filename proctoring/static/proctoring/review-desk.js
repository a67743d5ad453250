/* The review desk's attempt page (docs/review.md): select a violation, confirm or dismiss it from
   the keyboard, play it from the session recording, zoom the timeline, go to the next attempt.
   A static file (no inline script), plain DOM, no library. Each verdict is the page's own form,
   posted as a click on it would: one action, audited on the server. */
(function () {
  "use strict";

  const CLIP_CAP_S = 30; // a violation plays for at most this long (docs/review.md)
  const ZOOM_STEP = 2;
  const MIN_WINDOW_S = 5;
  const NICE_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
  const MAX_TICKS = 10;
  const SVG_NS = "http://www.w3.org/2000/svg";

  function ready(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  function clock(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(r).padStart(2, "0");
  }

  // -- the recording --------------------------------------------------------------------------

  function videos() {
    return Array.from(document.querySelectorAll("video.desk-video"));
  }

  /** The recording whose time zero is the latest at or before `t` (attempt seconds). */
  function videoFor(t) {
    let best = null;
    for (const v of videos()) {
      const offset = parseFloat(v.dataset.offset || "0");
      if (offset <= t + 0.001 && (!best || offset >= parseFloat(best.dataset.offset || "0"))) best = v;
    }
    return best || videos()[0] || null;
  }

  let stopAt = null;

  function play(startS, endS) {
    const video = videoFor(startS);
    if (!video) return;
    for (const v of videos()) {
      v.classList.toggle("recording-hidden", v !== video);
      if (v !== video) v.pause();
    }
    const offset = parseFloat(video.dataset.offset || "0");
    stopAt = { video: video, at: Math.min(endS, startS + CLIP_CAP_S) - offset };
    const seek = function () {
      video.currentTime = Math.max(0, startS - offset);
      const started = video.play();
      if (started && started.catch) started.catch(function () {});
    };
    if (video.readyState >= 1) seek();
    else video.addEventListener("loadedmetadata", seek, { once: true });
  }

  function watchStops() {
    for (const v of videos()) {
      v.addEventListener("timeupdate", function () {
        if (stopAt && stopAt.video === v && v.currentTime >= stopAt.at) {
          v.pause();
          stopAt = null;
        }
      });
    }
  }

  // -- selection and verdicts -----------------------------------------------------------------

  function rows() {
    return Array.from(document.querySelectorAll("tr.desk-violation"));
  }

  let selected = null;

  function select(row, scroll) {
    if (!row) return;
    selected = row;
    const id = row.dataset.violation;
    for (const r of rows()) r.classList.toggle("selected", r === row);
    for (const g of document.querySelectorAll(".evidence-group")) {
      g.classList.toggle("selected", g.dataset.violation === id);
    }
    for (const bar of document.querySelectorAll("svg.proctor-timeline rect.violation")) {
      bar.classList.toggle("selected", bar.dataset.violation === id);
    }
    if (scroll) row.scrollIntoView({ block: "nearest" });
    if (history.replaceState) history.replaceState(null, "", "#violation-" + id);
  }

  function move(step) {
    const all = rows();
    if (!all.length) return;
    const at = all.indexOf(selected);
    select(all[Math.min(Math.max(at + step, 0), all.length - 1)], true);
  }

  function playSelected() {
    if (selected) play(parseFloat(selected.dataset.start), parseFloat(selected.dataset.end));
  }

  function submitVerdict(kind) {
    const form = selected && selected.querySelector("form." + kind + "-form");
    if (form) form.requestSubmit ? form.requestSubmit() : form.submit();
  }

  function onKey(event) {
    const target = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) return;
    const review = document.getElementById("proctor-review");
    const actions = {
      j: function () { move(1); },
      ArrowDown: function () { move(1); },
      k: function () { move(-1); },
      ArrowUp: function () { move(-1); },
      c: function () { submitVerdict("confirm"); },
      d: function () { submitVerdict("dismiss"); },
      p: playSelected,
      n: function () { if (review.dataset.nextUrl) window.location.assign(review.dataset.nextUrl); },
      "+": function () { zoom(1 / ZOOM_STEP); },
      "=": function () { zoom(1 / ZOOM_STEP); },
      "-": function () { zoom(ZOOM_STEP); },
      "0": function () { zoomReset(); },
    };
    const action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  }

  // -- the timeline's zoom --------------------------------------------------------------------

  let svg = null, duration = 1, labelW = 150, plotW = 800, view = [0, 1];

  function x(t) {
    const [t0, t1] = view;
    const clamped = Math.min(Math.max(t, t0), t1);
    return labelW + (plotW * (clamped - t0)) / (t1 - t0);
  }

  function redraw() {
    for (const bar of svg.querySelectorAll("rect.violation")) {
      const start = parseFloat(bar.dataset.start), end = parseFloat(bar.dataset.end);
      const visible = end >= view[0] && start <= view[1];
      bar.setAttribute("x", x(start).toFixed(1));
      bar.setAttribute("width", visible ? Math.max(x(end) - x(start), 2).toFixed(1) : "0");
    }
    for (const mark of svg.querySelectorAll("path.evidence")) {
      const at = parseFloat(mark.dataset.at);
      const visible = at >= view[0] && at <= view[1];
      mark.setAttribute("d", "M" + x(at).toFixed(1) + " " + mark.dataset.y + " l-4 -6 h8 z");
      mark.setAttribute("visibility", visible ? "visible" : "hidden");
    }
    drawAxis();
  }

  function drawAxis() {
    const axis = svg.querySelector("g.axis");
    if (!axis) return;
    const top = parseFloat(axis.dataset.top);
    const span = view[1] - view[0];
    const step = NICE_STEPS_S.find(function (s) { return span / s <= MAX_TICKS; }) || 7200;
    while (axis.firstChild) axis.removeChild(axis.firstChild);
    const line = document.createElementNS(SVG_NS, "line");
    for (const [k, v] of [["x1", labelW], ["y1", top], ["x2", labelW + plotW], ["y2", top], ["stroke", "#9ca3af"]]) line.setAttribute(k, v);
    axis.appendChild(line);
    for (let t = Math.ceil(view[0] / step) * step; t <= view[1] + 1e-6; t += step) {
      const tick = document.createElementNS(SVG_NS, "line");
      const px = x(t).toFixed(1);
      for (const [k, v] of [["x1", px], ["y1", top], ["x2", px], ["y2", top + 5], ["stroke", "#6b7280"]]) tick.setAttribute(k, v);
      const text = document.createElementNS(SVG_NS, "text");
      for (const [k, v] of [["x", px], ["y", top + 18], ["font-size", "11"], ["text-anchor", "middle"], ["fill", "#374151"]]) text.setAttribute(k, v);
      text.textContent = clock(t);
      axis.appendChild(tick);
      axis.appendChild(text);
    }
  }

  function centre() {
    if (selected) return (parseFloat(selected.dataset.start) + parseFloat(selected.dataset.end)) / 2;
    return (view[0] + view[1]) / 2;
  }

  function zoom(factor) {
    if (!svg) return;
    const span = Math.min(Math.max((view[1] - view[0]) * factor, Math.min(MIN_WINDOW_S, duration)), duration);
    let t0 = centre() - span / 2;
    t0 = Math.min(Math.max(t0, 0), duration - span);
    view = [t0, t0 + span];
    svg.dataset.view = view[0].toFixed(3) + "-" + view[1].toFixed(3);
    redraw();
  }

  function zoomReset() {
    if (!svg) return;
    view = [0, duration];
    svg.dataset.view = "0-" + duration.toFixed(3);
    redraw();
  }

  function setUpTimeline() {
    svg = document.querySelector("svg.proctor-timeline");
    if (!svg) return;
    duration = parseFloat(svg.dataset.duration) || 1;
    labelW = parseFloat(svg.dataset.labelW) || 150;
    plotW = parseFloat(svg.dataset.plotW) || 800;
    view = [0, duration];
    const on = function (id, fn) {
      const el = document.getElementById(id);
      if (el) el.addEventListener("click", fn);
    };
    on("zoom-in", function () { zoom(1 / ZOOM_STEP); });
    on("zoom-out", function () { zoom(ZOOM_STEP); });
    on("zoom-reset", zoomReset);
    for (const bar of svg.querySelectorAll("rect.violation")) {
      bar.addEventListener("click", function () {
        select(document.getElementById("violation-" + bar.dataset.violation), true);
        play(parseFloat(bar.dataset.start), parseFloat(bar.dataset.end));
      });
    }
  }

  ready(function () {
    if (!document.getElementById("proctor-review")) return;
    setUpTimeline();
    watchStops();
    for (const row of rows()) {
      row.addEventListener("click", function (event) {
        if (event.target.closest("form, a, input, button")) return;
        select(row, false);
        playSelected();
      });
    }
    for (const button of document.querySelectorAll("button.play-violation")) {
      button.addEventListener("click", function () {
        const group = button.closest(".evidence-group");
        select(document.getElementById("violation-" + group.dataset.violation), false);
        play(parseFloat(button.dataset.start), parseFloat(button.dataset.end));
      });
    }
    const fromHash = window.location.hash.match(/^#violation-(\d+)$/);
    select((fromHash && document.getElementById("violation-" + fromHash[1])) || rows()[0], false);
    document.addEventListener("keydown", onKey);
  });
})();
