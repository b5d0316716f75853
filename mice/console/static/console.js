// The M-ICE console page.  It uses nothing but the JSON API (/api/...) and
// the live stream (/api/events).  Every piece of data is put in the page
// with textContent or as a text node, never as markup: log lines are
// written by whoever can make a host log something.
"use strict";
(function () {
  const LINES_PER_HOST = 20;
  const ALERTS_PER_HOST = 10;

  const state = {
    csrf: null,
    user: null,
    panes: new Map(),
    classifications: {},
    countermeasures: [],
    source: null,
    search: {},
    next: null,
    logSearch: {},
    logNext: null,
    detail: null,
    audio: null,
  };

  // -- building DOM from data, as text only ----------------------------------

  function el(tag, options, ...children) {
    const node = document.createElement(tag);
    if (options) {
      if (options.cls) node.className = options.cls;
      if (options.title) node.title = String(options.title);
      if (options.type) node.type = options.type;
      if (options.data) {
        for (const [key, value] of Object.entries(options.data)) {
          node.dataset[key] = String(value);
        }
      }
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function byId(id) {
    return document.getElementById(id);
  }

  function when(item) {
    if (!item.date) return "";
    return item.date + " " + (item.time || "");
  }

  function seconds(epoch) {
    if (epoch === null || epoch === undefined) return "";
    return new Date(epoch * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  // -- the API ----------------------------------------------------------------

  async function api(path, options) {
    const init = {credentials: "same-origin", headers: {"Accept": "application/json"}};
    if (options && options.body !== undefined) {
      init.method = "POST";
      init.body = JSON.stringify(options.body);
      init.headers["Content-Type"] = "application/json";
      init.headers["X-CSRF-Token"] = state.csrf || "";
    }
    const response = await fetch(path, init);
    if (response.status === 401) {
      window.location.assign("/login");
      throw new Error("not logged in");
    }
    let value = null;
    try {
      value = await response.json();
    } catch (e) {
      value = {error: "not JSON"};
    }
    if (!response.ok) {
      throw new Error((value && value.error) || ("HTTP " + response.status));
    }
    return value;
  }

  // The answer of a GET, or null when it failed (its message shown in
  // messageElement, when one is given).
  async function apiOrNull(path, messageElement) {
    try {
      return await api(path);
    } catch (e) {
      if (messageElement) messageElement.textContent = e.message;
      return null;
    }
  }

  function query(params) {
    const parts = [];
    for (const [key, value] of Object.entries(params)) {
      if (value !== null && value !== undefined && value !== "") {
        parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
      }
    }
    return parts.length ? "?" + parts.join("&") : "";
  }

  // -- sound and cue ----------------------------------------------------------

  function beep(times) {
    if (!byId("sound").checked) return;
    if (!state.audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return;
      state.audio = new Context();
    }
    const audio = state.audio;
    for (let i = 0; i < times; i++) {
      const start = audio.currentTime + i * 0.25;
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = 880;
      gain.gain.value = 0.1;
      oscillator.connect(gain);
      gain.connect(audio.destination);
      oscillator.start(start);
      oscillator.stop(start + 0.15);
    }
  }

  function cue(name, severity) {
    const pane = document.querySelector('.pane[data-host="' + CSS.escape(name) + '"]');
    const level = severity === "high" ? "cue-alert" : "cue-warning";
    if (pane) {
      pane.classList.remove("cue-alert", "cue-warning");
      // Restart the animation.
      void pane.offsetWidth;
      pane.classList.add(level);
      window.setTimeout(function () { pane.classList.remove(level); }, 4000);
    }
    // LogIDS: one beep for a warning, three for an alert.
    if (severity === "high") beep(3);
    else if (severity === "medium") beep(1);
  }

  // -- host panes ---------------------------------------------------------------

  function paneFor(name) {
    let pane = state.panes.get(name);
    if (!pane) {
      pane = {name: name, addresses: [], lines: [], icon: null, counts: {}, alerts: 0,
              recentAlerts: [], lastAlert: null, dropped: 0, rejected: 0, countermeasures: []};
      state.panes.set(name, pane);
    }
    return pane;
  }

  function lineText(line) {
    if (line.fields) {
      return line.fields.map(function (pair) { return pair[0] + "=" + pair[1]; }).join("  ");
    }
    return line.line || "";
  }

  function renderPane(pane) {
    const box = byId("panes");
    const node = el("article", {cls: "pane", data: {host: pane.name}});
    const head = el("header", {cls: "pane-head"});
    if (pane.icon && pane.icon.name) {
      const img = el("img", {cls: "icon", title: pane.icon.name});
      img.alt = pane.icon.name;
      img.src = "/icons/" + encodeURIComponent(pane.icon.name);
      img.addEventListener("error", function () {
        img.replaceWith(el("span", {cls: "icon-name"}, "[" + pane.icon.name + "]"));
      });
      head.append(img);
    }
    head.append(el("h2", null, pane.name));
    head.append(el("span", {cls: "addresses"}, pane.addresses.join(", ")));
    node.append(head);

    const counts = el("ul", {cls: "counts"});
    for (const [classification, n] of Object.entries(pane.counts)) {
      counts.append(el("li", null, el("span", {cls: "n"}, n), " " + classification));
    }
    if (pane.dropped || pane.rejected) {
      counts.append(el("li", {cls: "muted"}, pane.dropped + " dropped, " +
                       pane.rejected + " rejected"));
    }
    node.append(counts);

    if (pane.recentAlerts.length) {
      const alerts = el("ul", {cls: "recent-alerts"});
      for (const alert of pane.recentAlerts.slice().reverse()) {
        alerts.append(el("li", {cls: "sev-" + (alert.severity || "none")},
                         when(alert) + " " + (alert.alertId || "") + " " +
                         (alert.classification || "")));
      }
      node.append(alerts);
    }

    const lines = el("ol", {cls: "lines"});
    for (const line of pane.lines) {
      lines.append(el("li", null, el("span", {cls: "when"}, when(line)), " ",
                      el("span", {cls: "app"}, line.application || ""), " ",
                      el("span", {cls: "text"}, lineText(line))));
    }
    node.append(lines);

    if (pane.countermeasures && pane.countermeasures.length) {
      const list = el("ul", {cls: "pane-countermeasures"});
      for (const cm of pane.countermeasures) {
        list.append(el("li", null, countermeasureText(cm) + " ", liftButton(cm)));
      }
      node.append(el("h3", null, "Countermeasures"), list);
    }

    const old = box.querySelector('.pane[data-host="' + CSS.escape(pane.name) + '"]');
    if (old) old.replaceWith(node);
    else box.append(node);
    byId("hosts-empty").classList.add("hidden");
  }

  function renderAllPanes() {
    clear(byId("panes"));
    const names = Array.from(state.panes.keys()).sort();
    for (const name of names) renderPane(state.panes.get(name));
    byId("hosts-empty").classList.toggle("hidden", names.length > 0);
  }

  function attachCountermeasures() {
    for (const pane of state.panes.values()) pane.countermeasures = [];
    for (const cm of state.countermeasures) {
      for (const pane of state.panes.values()) {
        if (pane.name === cm.host || pane.addresses.indexOf(cm.host) >= 0) {
          pane.countermeasures.push(cm);
          break;
        }
      }
    }
  }

  async function loadHosts() {
    const found = await api("/api/hosts");
    state.panes.clear();
    for (const pane of found.hosts) state.panes.set(pane.name, pane);
    state.classifications = found.classifications || {};
    state.countermeasures = [];
    for (const pane of found.hosts) {
      for (const cm of pane.countermeasures || []) state.countermeasures.push(cm);
    }
    renderAllPanes();
    renderClassifications();
    if (!found.loaded) {
      // The console is still reading the database: ask again shortly.
      window.setTimeout(async function () { connect(await loadHosts()); }, 1000);
    }
    return found.cursor;
  }

  function renderClassifications() {
    const list = byId("classifications");
    clear(list);
    for (const name of Object.keys(state.classifications)) {
      const option = document.createElement("option");
      option.value = name;
      list.append(option);
    }
  }

  // -- live updates ---------------------------------------------------------------

  function applyLine(event) {
    const pane = paneFor(event.host);
    if (event.ip && pane.addresses.indexOf(event.ip) < 0) pane.addresses.push(event.ip);
    if (event.action === "display") {
      pane.lines.push({date: event.date, time: event.time, application: event.application,
                       fields: event.fields, line: event.fields ? null : event.line});
      while (pane.lines.length > LINES_PER_HOST) pane.lines.shift();
    } else if (event.action === "icon") {
      pane.icon = {name: event.icon, date: event.date, time: event.time};
    } else if (event.action === "drop") {
      pane.dropped += 1;
    } else if (event.action === "reject") {
      pane.rejected += event.count || 1;
    }
    renderPane(pane);
  }

  function applyAlert(alert) {
    const classification = alert.classification || "(none)";
    state.classifications[classification] = (state.classifications[classification] || 0) + 1;
    if (alert.host) {
      const pane = paneFor(alert.host);
      pane.counts[classification] = (pane.counts[classification] || 0) + 1;
      pane.alerts += 1;
      pane.recentAlerts.push(alert);
      while (pane.recentAlerts.length > ALERTS_PER_HOST) pane.recentAlerts.shift();
      renderPane(pane);
      cue(alert.host, alert.severity);
    } else {
      cue("", alert.severity);
    }
    // A live alert goes on top of the list while it shows every record.
    if (Object.keys(state.search).length === 0) {
      const body = byId("alerts").querySelector("tbody");
      const row = alertRow(alert);
      row.classList.add("new");
      body.insertBefore(row, body.firstChild);
    }
  }

  function connect(cursor) {
    if (state.source) state.source.close();
    const source = new EventSource("/api/events" + query({since: cursor}));
    state.source = source;
    const live = byId("live");
    source.addEventListener("open", function () {
      live.textContent = "live";
      live.className = "live on";
    });
    source.addEventListener("error", function () {
      live.textContent = "reconnecting";
      live.className = "live off";
    });
    function on(kind, handler) {
      source.addEventListener(kind, function (message) {
        let data;
        try {
          data = JSON.parse(message.data);
        } catch (e) {
          return;
        }
        handler(data);
      });
    }
    on("line", applyLine);
    on("alert", applyAlert);
    on("reaction", function (outcome) {
      if (state.detail && state.detail.alertKey === outcome.alertkey) {
        showDetail(state.detail.rowId);
      }
    });
    on("countermeasure", function () { loadCountermeasures(); });
    on("heartbeat", function () { loadAnalyzers(); });
    on("resync", function () {
      loadCountermeasures();
      loadAnalyzers();
    });
    on("reload", async function () {
      connect(await loadHosts());
    });
  }

  // -- alerts -------------------------------------------------------------------

  function alertRow(alert) {
    const row = el("tr", {cls: "alert sev-" + (alert.severity || "none"),
                          data: {row: alert.rowId}},
      el("td", null, when(alert)),
      el("td", null, alert.alertId || ""),
      el("td", null, alert.classification || ""),
      el("td", null, alert.severity || ""),
      el("td", null, alert.sourceAddress || ""),
      el("td", null, alert.targetAddress || ""),
      el("td", null, [alert.sourceUser, alert.targetUser].filter(Boolean).join(" → ")),
      el("td", null, alert.analyzer || ""),
      el("td", {cls: "logline"}, alert.logLine || ""));
    row.addEventListener("click", function () { showDetail(alert.rowId); });
    return row;
  }

  async function search(params, more) {
    const message = byId("search-message");
    message.textContent = "";
    const body = byId("alerts").querySelector("tbody");
    const found = await apiOrNull(
      "/api/alerts" + query(Object.assign({}, params, more ? {after: state.next} : {})), message);
    if (found === null) return;
    if (!more) {
      clear(body);
      state.search = params;
    }
    for (const alert of found.alerts) body.append(alertRow(alert));
    state.next = found.next;
    byId("more-alerts").classList.toggle("hidden", !found.next);
    if (!more && found.alerts.length === 0) message.textContent = "No alert matches.";
  }

  function searchForm() {
    const form = byId("search");
    const params = {};
    for (const input of form.querySelectorAll("input")) {
      if (input.value) params[input.name] = input.value;
    }
    return params;
  }

  function setForm(params) {
    for (const input of byId("search").querySelectorAll("input")) {
      input.value = params[input.name] || "";
    }
  }

  async function showDetail(rowId) {
    const found = await apiOrNull("/api/alerts/" + encodeURIComponent(rowId),
                                  byId("search-message"));
    if (found === null) return;
    const alert = found.alert;
    state.detail = {rowId: rowId, alertKey: alert.alertKey};
    byId("detail-title").textContent = (alert.alertId || "") + " " + (alert.classification || "");
    const fields = byId("detail-fields");
    clear(fields);
    const shown = ["rowId", "alertId", "description", "classification", "severity", "date",
                   "time", "analyzer", "sourceAddress", "sourceUser", "sourceProcess",
                   "sourceService", "targetAddress", "targetUser", "targetProcess",
                   "targetService", "logLine", "origin", "alertKey", "received"];
    for (const name of shown) {
      if (alert[name] === null || alert[name] === undefined) continue;
      fields.append(el("dt", null, name), el("dd", null, alert[name]));
    }
    const reactions = byId("detail-reactions").querySelector("tbody");
    clear(reactions);
    for (const job of found.reactions) {
      reactions.append(el("tr", {cls: "state-" + (job.state || "")},
        el("td", null, job.rid), el("td", null, job.pipe || ""),
        el("td", null, job.state || ""), el("td", null, job.attempts),
        el("td", null, job.outcome || ""), el("td", null, job.updated || "")));
    }
    if (!found.reactions.length) {
      reactions.append(el("tr", null, el("td", null, "no reaction recorded")));
    }
    byId("detail-idmef").textContent = alert.idmef || "";
    byId("alert-detail").classList.remove("hidden");
  }

  // -- console log -----------------------------------------------------------------

  async function loadLog(params, more) {
    const found = await api("/api/consolelog" + query(Object.assign(
      {}, params, more ? {after: state.logNext} : {})));
    const body = byId("log").querySelector("tbody");
    if (!more) {
      clear(body);
      state.logSearch = params;
    }
    byId("log-counts").textContent = found.counts.drop + " records dropped, " +
      found.counts.reject + " rejected";
    for (const record of found.records) {
      body.append(el("tr", {cls: "action-" + record.action},
        el("td", null, when(record)), el("td", null, record.host || ""),
        el("td", null, record.application || ""), el("td", null, record.action),
        el("td", null, record.count), el("td", null, record.rule || "(no rule matched)"),
        el("td", {cls: "logline"}, record.action === "reject" ?
          "(rejected: not shown)" : (record.line || ""))));
    }
    state.logNext = found.next;
    byId("more-log").classList.toggle("hidden", !found.next);
  }

  // -- analyzers --------------------------------------------------------------------

  async function loadAnalyzers() {
    const found = await apiOrNull("/api/heartbeats");
    if (found === null) return;
    const body = byId("analyzers").querySelector("tbody");
    clear(body);
    for (const a of found.analyzers) {
      body.append(el("tr", {cls: a.stale ? "stale" : "fresh"},
        el("td", null, a.analyzerId), el("td", null, a.name || ""),
        el("td", null, a.host || ""), el("td", null, a.lastSeen || ""),
        el("td", null, a.interval ? a.interval + " s" : ""),
        el("td", null, a.stale ? "stale" : "alive")));
    }
    byId("analyzers-empty").classList.toggle("hidden", found.analyzers.length > 0);
  }

  // -- countermeasures -----------------------------------------------------------------

  function paramsText(params) {
    return Object.entries(params || {}).map(function (pair) {
      return pair[0] + "=" + pair[1];
    }).join(" ");
  }

  function countermeasureText(cm) {
    return "FID " + cm.fid + " " + paramsText(cm.params) +
      (cm.until ? " until " + seconds(cm.until) : "");
  }

  function liftButton(cm) {
    const button = el("button", {cls: "lift", type: "button",
                                 data: {daemon: cm.daemon, id: cm.id}}, "Lift");
    button.addEventListener("click", async function () {
      button.disabled = true;
      const message = byId("lift-message");
      try {
        const result = await api("/api/countermeasures/lift",
                                 {body: {daemon: cm.daemon, id: cm.id}});
        message.textContent = "Lifted " + cm.id + ": " + result.outcome;
      } catch (e) {
        message.textContent = "Not lifted: " + e.message;
        button.disabled = false;
      }
      loadCountermeasures();
    });
    return button;
  }

  async function loadCountermeasures() {
    const found = await apiOrNull("/api/countermeasures");
    if (found === null) return;
    state.countermeasures = found.countermeasures;
    const body = byId("countermeasures").querySelector("tbody");
    clear(body);
    for (const cm of found.countermeasures) {
      body.append(el("tr", {cls: "countermeasure", data: {id: cm.id}},
        el("td", null, cm.daemon), el("td", null, cm.host || ""), el("td", null, cm.id),
        el("td", null, cm.fid),
        el("td", null, paramsText(cm.params)),
        el("td", null, seconds(cm.since)), el("td", null, cm.until ? seconds(cm.until) : "never"),
        el("td", null, cm.by || ""), el("td", null, cm.state || ""),
        el("td", null, liftButton(cm))));
    }
    byId("countermeasures-empty").classList.toggle("hidden", found.countermeasures.length > 0);
    attachCountermeasures();
    renderAllPanes();
  }

  // -- tabs and start --------------------------------------------------------------------

  function showTab(name) {
    for (const tab of document.querySelectorAll(".tab")) {
      tab.classList.toggle("active", tab.dataset.tab === name);
    }
    for (const panel of document.querySelectorAll(".panel")) {
      panel.classList.toggle("hidden", panel.id !== "tab-" + name);
    }
  }

  async function start() {
    const session = await api("/api/session");
    state.csrf = session.csrf;
    state.user = session.user;
    byId("user").textContent = session.user;
    for (const tab of document.querySelectorAll(".tab")) {
      tab.addEventListener("click", function () { showTab(tab.dataset.tab); });
    }
    byId("logout").addEventListener("click", async function () {
      try {
        await api("/api/logout", {body: {}});
      } finally {
        window.location.assign("/login");
      }
    });
    byId("search").addEventListener("submit", function (event) {
      event.preventDefault();
      search(searchForm(), false);
    });
    byId("all-records").addEventListener("click", function () {
      setForm({});
      search({}, false);
    });
    byId("auth-failures").addEventListener("click", function () {
      setForm({alertid: "0x1020"});
      search({alertid: "0x1020"}, false);
    });
    byId("more-alerts").addEventListener("click", function () { search(state.search, true); });
    byId("close-detail").addEventListener("click", function () {
      state.detail = null;
      byId("alert-detail").classList.add("hidden");
    });
    byId("log-filter").addEventListener("submit", function (event) {
      event.preventDefault();
      const form = byId("log-filter");
      loadLog({action: form.elements.action.value, host: form.elements.host.value}, false);
    });
    byId("more-log").addEventListener("click", function () { loadLog(state.logSearch, true); });
    byId("sound").addEventListener("change", function () {
      // A page may start sound only after a click: this is the one.
      if (byId("sound").checked) beep(1);
    });
    const cursor = await loadHosts();
    connect(cursor);
    search({}, false);
    loadLog({}, false);
    loadAnalyzers();
    loadCountermeasures();
  }

  start().catch(function (e) {
    const live = byId("live");
    live.textContent = "error: " + e.message;
  });
})();
