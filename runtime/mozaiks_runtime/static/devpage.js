/* The dev page: lists the runtime's workflows (GET /api/workflows, the public catalog) and opens
 * the widget on one of them. Text from the catalog goes in with textContent only. */
(function () {
  "use strict";

  const list = document.getElementById("workflows");
  const status = document.getElementById("workflows-status");
  const events = document.getElementById("events");

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function button(label, onClick, extraClass) {
    const node = el("button", `dev__button ${extraClass || ""}`.trim(), label);
    node.type = "button";
    node.addEventListener("click", onClick);
    return node;
  }

  function openChat(name, surface) {
    window.mozaiksChat.open({ workflow_name: name, surface }).catch((err) => {
      status.textContent = `Could not open the chat: ${err.message || err}`;
    });
  }

  function workflowItem(name, info) {
    const item = el("li", "dev__workflow");
    item.dataset.workflow = name;
    const title = el("h3", "dev__workflow-title", info.display_name || info.title || name);
    const meta = el("p", "dev__workflow-meta", `${name} · ${info.startup_mode || "user_driven"}`);
    const description = el("p", "dev__workflow-description", info.description || "");
    const actions = el("div", "dev__actions");
    actions.append(
      button("Chat", () => openChat(name), "dev__start"),
      button("Full screen", () => openChat(name, "overlay"), "dev__start-overlay"),
    );
    item.append(title, meta, description, actions);
    return item;
  }

  function catalogEntries(body) {
    // The catalog is keyed by workflow name; tolerate a {workflows: [...]} list as well.
    if (Array.isArray(body && body.workflows)) return body.workflows.map((w) => [w.name, w]);
    return Object.entries(body || {});
  }

  async function loadWorkflows() {
    try {
      const res = await fetch("/api/workflows", { headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const entries = catalogEntries(await res.json());
      list.replaceChildren(...entries.map(([name, info]) => workflowItem(name, info || {})));
      status.textContent = entries.length ? `${entries.length} workflow(s) served by this runtime.` : "No workflows are loaded.";
    } catch (err) {
      status.textContent = `Could not load the workflows (${err.message || err}).`;
    }
  }

  function logEvent(ev) {
    const detail = ev.detail || {};
    const line = `${ev.type} ${detail.workflow_name || ""} ${detail.chat_id || ""}`.trim();
    events.append(el("li", "dev__event", line));
  }

  document.addEventListener("mozaiks:chat:open", logEvent);
  document.addEventListener("mozaiks:chat:close", logEvent);
  loadWorkflows();
})();
