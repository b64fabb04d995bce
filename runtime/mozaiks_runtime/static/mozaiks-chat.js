/*
 * Mozaiks chat widget: one script tag, no build step, no dependencies.
 *
 *   <script src="https://chat.example.com/static/mozaiks-chat.js"
 *           data-app-id="acme" data-user-id="u-42" data-token-endpoint="/my/chat-token"
 *           data-workflow="hello"></script>
 *
 * Configuration (data- attributes on the script tag, or mozaiksChat.init({...}) with the
 * camelCase names; init() before anything else when the tag has no data-app-id, or with
 * data-auto-init="false"):
 *   data-app-id / appId              the tenant's app id (required)
 *   data-user-id / userId            the signed-in user (the token's `sub`)
 *   data-token-endpoint / tokenEndpoint  URL answering {"token": "..."} (or the bare token);
 *                                    called before every (re)connect, with credentials
 *   getToken (init only)             async () => token; wins over the endpoint
 *   data-token / token               a fixed token (development)
 *   data-runtime-url / runtimeUrl    default: where this script was loaded from
 *   data-workflow / workflowName     what the bubble opens when no chat is open
 *   data-title / title               header title (default: the workflow's display name)
 *   data-token-transport / tokenTransport  "protocol" (Sec-WebSocket-Protocol: bearer, <jwt>;
 *                                    the default) or "query" (?access_token=)
 *   data-css-url / cssUrl            default: mozaiks-chat.css next to this script
 *
 * API: mozaiksChat.open({workflow_name, chat_id?, surface?: "overlay"}) → Promise of
 * {workflow_name, chat_id} (without chat_id it starts one: POST /api/chats/{app}/{wf}/start);
 * .close(); .expand(); .collapse(); .state(); .chats() → Promise of the user's chats (newest
 * first, GET /api/sessions); .deleteChat(chat_id) → Promise of what was deleted (a running run is
 * stopped first). The header's "Your chats" button lists them, to open or delete one. Events on
 * the widget's host element, bubbling to document and window: `mozaiks:chat:open` /
 * `mozaiks:chat:close` / `mozaiks:chat:deleted`, detail {workflow_name, chat_id}. A chat deleted
 * elsewhere (its socket closes with 4410) is forgotten, never reconnected to.
 * Surfaces: the bubble, the compact panel, the full-screen overlay (Escape leaves it).
 *
 * It speaks the runtime's wire contract (docs/protocol.md): one WebSocket per chat, JSON envelopes
 * with a per-chat `seq`; it keeps the highest seq it has seen, drops anything at or below it
 * (no duplicates) and reconnects with backoff, `?last_seq=` and `client.resume` (nothing
 * missed). The open chat is remembered per tab (sessionStorage) and replayed after a reload.
 *
 * Safety: every string that comes from the wire (agent text, user text, tool payloads, errors)
 * reaches the DOM through textContent or attribute setters; nothing is parsed as HTML. The UI
 * lives in a shadow root, so host styles and widget styles do not mix.
 */
(function () {
  "use strict";

  if (window.mozaiksChat && window.mozaiksChat.version) return;

  const VERSION = "0.1.0";
  const SCRIPT = document.currentScript;

  const DEFAULTS = {
    runtimeUrl: "", // default: the origin this script was loaded from
    appId: "",
    userId: "",
    token: null, // a fixed token (development)
    getToken: null, // async () => string, called before every (re)connect
    tokenEndpoint: null, // URL answering {token} / {access_token} or the bare token
    tokenTransport: "protocol", // "protocol": Sec-WebSocket-Protocol; "query": ?access_token=
    workflowName: null, // what the bubble opens when no chat is open yet
    title: "Chat",
    cssUrl: null, // default: mozaiks-chat.css next to this script
    reconnectBaseMs: 500,
    reconnectMaxMs: 8000,
    container: null, // element to mount into; default document.body
  };

  // What the user reads when the runtime reports an error (error_code → plain words).
  const ERROR_TEXT = {
    UNAUTHORIZED: "Your sign-in has expired or is not valid. Please sign in again.",
    FORBIDDEN: "You are not allowed to use this chat.",
    NOT_ENTITLED: "Your account does not include this assistant.",
    NOT_FOUND: "This chat could not be found.",
    WORKFLOW_NOT_FOUND: "This assistant is not available.",
    INPUT_REQUEST_NOT_FOUND: "That question was already answered or has expired.",
    INPUT_TIMEOUT: "The question expired because nobody answered in time.",
    BUDGET_EXCEEDED: "The usage limit for this chat has been reached.",
    RATE_LIMITED: "You are sending messages too quickly. Please wait a moment.",
    OVERLOADED: "The service is busy right now. Please try again shortly.",
    STORAGE_UNAVAILABLE: "The service cannot save this conversation right now.",
    ENGINE_FAILED: "The assistant ran into a problem and stopped.",
    SCHEMA_VALIDATION_FAILED: "The service did not understand a message from this page.",
    FRAME_TOO_LARGE: "That message is too long.",
    CONFLICT: "The assistant is busy right now. Please wait for its question or reply.",
    BAD_REQUEST: "The service could not accept that.",
    INTERNAL_ERROR: "Something went wrong on the service side.",
    CHAT_DELETED: "This chat was deleted.",
    RUN_IN_PROGRESS: "The assistant is still working in this chat.",
  };

  const CHAT_DELETED_CLOSE = 4410; // the runtime's close code for a deleted chat: do not reconnect

  // Why the runtime refused a socket (close 1008, its short reason) → plain words.
  const REFUSAL_TEXT = {
    unauthorized: "Your sign-in has expired or is not valid. Please sign in again.",
    forbidden: "You are not allowed to open this chat.",
    "chat not found": "This chat could not be found, or it is not yours.",
    "unknown workflow": "This assistant is not available.",
    "not entitled": "Your account does not include this assistant.",
  };

  // Why a served socket closed (its close code) → plain words; the widget reconnects after each.
  const CLOSE_TEXT = {
    1001: "The chat service is going away.",
    1011: "The chat service had a problem.",
    1012: "The chat service is restarting.",
    1013: "The chat service is busy.",
  };

  const CONNECTION_TEXT = {
    idle: "Not connected",
    connecting: "Connecting…",
    open: "Connected",
    reconnecting: "Reconnecting…",
    failed: "Disconnected",
  };

  // ── small DOM helpers (text only, never HTML) ────────────────────────────────

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = String(value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of [].concat(children || [])) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function prettyJson(value) {
    if (typeof value === "string") return value;
    try {
      return JSON.stringify(value, null, 2);
    } catch (_err) {
      return String(value);
    }
  }

  function scriptDataset() {
    return SCRIPT && SCRIPT.dataset ? SCRIPT.dataset : {};
  }

  function scriptBase() {
    if (SCRIPT && SCRIPT.src) return new URL(".", SCRIPT.src).href;
    return new URL("/static/", window.location.href).href;
  }

  function configFromDataset(data) {
    const cfg = {};
    const map = {
      runtimeUrl: "runtimeUrl",
      appId: "appId",
      userId: "userId",
      token: "token",
      tokenEndpoint: "tokenEndpoint",
      tokenTransport: "tokenTransport",
      workflowName: "workflow",
      title: "title",
      cssUrl: "cssUrl",
    };
    for (const [key, attr] of Object.entries(map)) {
      if (data[attr]) cfg[key] = data[attr];
    }
    return cfg;
  }

  // ── the widget ───────────────────────────────────────────────────────────────

  class ChatWidget {
    constructor(config) {
      this.config = Object.assign({}, DEFAULTS, config);
      this.surface = "closed"; // closed (bubble only) | compact | overlay
      this.chat = null; // {workflowName, chatId}
      this.socket = null;
      this.connection = "idle";
      this.connGen = 0;
      this.attempt = 0;
      this.reconnectTimer = null;
      this.authRetried = false;
      this.connectedOnce = false;
      this.resetConversationState();
      this.mount();
      window.addEventListener("online", () => this.reconnectNow());
    }

    // ── what survives a page reload (this tab only): the open chat and the surface ──

    storageKey() {
      return `mozaiks-chat:${this.config.appId}:${this.config.userId}`;
    }

    remember() {
      const saved = this.chat ? { workflow_name: this.chat.workflowName, chat_id: this.chat.chatId, surface: this.surface } : null;
      try {
        if (saved) window.sessionStorage.setItem(this.storageKey(), JSON.stringify(saved));
        else window.sessionStorage.removeItem(this.storageKey());
      } catch (_err) {
        // Storage may be disabled (private mode, sandboxed frame): reloads then start afresh.
      }
    }

    restore() {
      let saved = null;
      try {
        saved = JSON.parse(window.sessionStorage.getItem(this.storageKey()) || "null");
      } catch (_err) {
        return;
      }
      if (!saved || !saved.workflow_name || !saved.chat_id) return;
      if (saved.surface === "closed") {
        this.chat = { workflowName: saved.workflow_name, chatId: saved.chat_id };
        this.displayName(saved.workflow_name).then((name) => {
          this.titleNode.textContent = name;
        });
        return;
      }
      // The message list is empty after a reload: the runtime replays the whole history.
      this.open({ workflow_name: saved.workflow_name, chat_id: saved.chat_id, surface: saved.surface }).catch((err) => {
        this.showError(err.message || String(err));
      });
    }

    resetConversationState() {
      this.lastSeq = 0;
      this.pendingInput = null; // {requestId, password, node}
      this.inputCards = new Map(); // request_id → card
      this.toolNodes = new Map(); // call_id → details node
      this.uiTools = new Map(); // eventId → card
      this.streaming = new Map(); // agent → bubble being streamed
      this.localEchoes = []; // user bubbles waiting for the server's echo
      this.usage = { prompt: 0, completion: 0, total: 0 };
    }

    // ── mounting and surfaces ──

    mount() {
      this.host = el("div", { id: "mozaiks-chat", "data-mozaiks-chat": VERSION });
      const shadow = this.host.attachShadow({ mode: "open" });
      const cssUrl = this.config.cssUrl || new URL("mozaiks-chat.css", scriptBase()).href;
      shadow.append(el("link", { rel: "stylesheet", href: cssUrl }));
      this.root = el("div", { class: "mzk-root", "data-surface": "closed" });
      this.root.append(this.buildBubble(), this.buildPanel());
      shadow.append(this.root);
      (this.config.container || document.body).append(this.host);
    }

    buildBubble() {
      this.bubble = el("button", {
        class: "mzk-bubble",
        type: "button",
        "aria-label": "Open chat",
        title: "Open chat",
        onclick: () => this.onBubbleClick(),
      });
      this.bubble.append(el("span", { class: "mzk-bubble__icon", "aria-hidden": "true" }));
      return this.bubble;
    }

    buildPanel() {
      this.panel = el("section", { class: "mzk-panel", role: "dialog", "aria-label": "Chat" });
      this.panel.addEventListener("keydown", (ev) => {
        if (ev.key === "Escape" && this.surface === "overlay") this.setSurface("compact");
      });
      this.panel.append(this.buildHeader(), this.buildBanner(), this.buildBody(), this.buildComposer());
      return this.panel;
    }

    buildHeader() {
      this.titleNode = el("h2", { class: "mzk-title", text: this.config.title });
      this.statusNode = el("span", { class: "mzk-status", "data-state": "idle" });
      this.statusNode.append(el("span", { class: "mzk-status__dot" }), el("span", { class: "mzk-status__text", text: CONNECTION_TEXT.idle }));
      this.usageNode = el("span", { class: "mzk-usage", title: "Tokens used in this chat", text: "0 tokens" });
      this.expandButton = el("button", {
        class: "mzk-icon-button mzk-expand",
        type: "button",
        "aria-label": "Expand to full screen",
        title: "Expand",
        text: "⤢",
        onclick: () => this.toggleOverlay(),
      });
      this.chatsButton = el("button", {
        class: "mzk-icon-button mzk-chats-toggle",
        type: "button",
        "aria-label": "Your chats",
        "aria-expanded": "false",
        title: "Your chats",
        text: "☰",
        onclick: () => this.toggleChats(),
      });
      const closeButton = el("button", {
        class: "mzk-icon-button mzk-close",
        type: "button",
        "aria-label": "Close chat",
        title: "Close",
        text: "×",
        onclick: () => this.close(),
      });
      const meta = el("div", { class: "mzk-header__meta" }, [this.statusNode, this.usageNode]);
      const titles = el("div", { class: "mzk-header__titles" }, [this.titleNode, meta]);
      return el("header", { class: "mzk-header" }, [titles, this.chatsButton, this.expandButton, closeButton]);
    }

    buildBanner() {
      this.bannerText = el("span", { class: "mzk-banner__text" });
      this.bannerRetry = el("button", {
        class: "mzk-banner__retry",
        type: "button",
        text: "Retry now",
        onclick: () => this.reconnectNow(true),
      });
      this.banner = el("div", { class: "mzk-banner", role: "status", hidden: true }, [this.bannerText, this.bannerRetry]);
      return this.banner;
    }

    buildBody() {
      this.messages = el("ol", { class: "mzk-messages", "aria-live": "polite" });
      this.activity = el("div", { class: "mzk-activity", hidden: true });
      const conversation = el("div", { class: "mzk-conversation" }, [this.messages, this.activity]);
      this.artifacts = el("aside", { class: "mzk-artifacts", "aria-label": "Artifacts", hidden: true });
      this.chatList = el("ul", { class: "mzk-chats", "aria-label": "Your chats", hidden: true });
      return el("div", { class: "mzk-body" }, [this.chatList, conversation, this.artifacts]);
    }

    buildComposer() {
      this.promptNode = el("div", { class: "mzk-composer__prompt", hidden: true });
      this.input = el("input", {
        class: "mzk-input",
        type: "text",
        autocomplete: "off",
        "aria-label": "Message",
        placeholder: "Type a message…",
      });
      this.sendButton = el("button", { class: "mzk-send", type: "submit", text: "Send" });
      // Shown while a run goes on: asks the runtime to cancel it (chat.cancel).
      this.stopButton = el("button", {
        class: "mzk-stop",
        type: "button",
        text: "Stop",
        hidden: true,
        "aria-label": "Stop the assistant",
        onclick: () => this.cancelRun(),
      });
      const row = el("div", { class: "mzk-composer__row" }, [this.input, this.stopButton, this.sendButton]);
      this.composer = el("form", { class: "mzk-composer", onsubmit: (ev) => this.onSubmit(ev) }, [this.promptNode, row]);
      return this.composer;
    }

    setSurface(surface) {
      this.surface = surface;
      this.root.setAttribute("data-surface", surface);
      this.remember();
      const overlay = surface === "overlay";
      this.expandButton.textContent = overlay ? "⤡" : "⤢";
      this.expandButton.setAttribute("aria-label", overlay ? "Back to the compact chat" : "Expand to full screen");
      this.expandButton.title = overlay ? "Collapse" : "Expand";
      if (surface !== "closed") this.scrollToEnd(true);
    }

    toggleOverlay() {
      this.setSurface(this.surface === "overlay" ? "compact" : "overlay");
    }

    onBubbleClick() {
      if (this.chat) {
        this.open({ workflow_name: this.chat.workflowName, chat_id: this.chat.chatId });
      } else if (this.config.workflowName) {
        this.open({ workflow_name: this.config.workflowName });
      } else {
        this.setSurface("compact");
        this.showNotice("Choose an assistant on this page to start a chat.");
      }
    }

    dispatch(name) {
      const detail = this.chat ? { workflow_name: this.chat.workflowName, chat_id: this.chat.chatId } : {};
      this.host.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
    }

    // ── public actions ──

    async open(options) {
      const opts = options || {};
      const workflowName = opts.workflow_name || opts.workflowName || (this.chat && this.chat.workflowName) || this.config.workflowName;
      if (!workflowName) throw new Error("mozaiksChat.open needs a workflow_name");
      const chatId = opts.chat_id || opts.chatId || null;
      const sameChat = this.chat && this.chat.workflowName === workflowName && (!chatId || chatId === this.chat.chatId);
      this.setSurface(opts.surface === "overlay" || this.surface === "overlay" ? "overlay" : "compact");
      if (!sameChat) await this.switchChat(workflowName, chatId);
      if (!this.chat) return null;
      if (!this.socket) this.connect();
      this.dispatch("mozaiks:chat:open");
      this.input.focus();
      return { workflow_name: this.chat.workflowName, chat_id: this.chat.chatId };
    }

    async switchChat(workflowName, chatId) {
      this.disconnect();
      this.chat = null;
      this.remember();
      this.clearConversation();
      this.titleNode.textContent = this.config.title;
      let id = chatId;
      if (!id) {
        try {
          id = await this.startChat(workflowName);
        } catch (err) {
          // fetch() rejects with a TypeError when the runtime cannot be reached (or CORS).
          const unreachable = err instanceof TypeError;
          this.showError(unreachable ? "The chat service cannot be reached from this page." : err.message || String(err));
          return;
        }
      }
      this.chat = { workflowName, chatId: id };
      this.remember();
      this.titleNode.textContent = await this.displayName(workflowName);
    }

    async displayName(workflowName) {
      // A title the host page chose wins; else the public catalog (GET /api/workflows, no token)
      // names the workflow for people (cross-origin it needs CORS; without, the name is shown).
      if (this.config.title !== DEFAULTS.title) return this.config.title;
      if (!this.catalog) {
        this.catalog = fetch(new URL("api/workflows", this.runtimeBase()), { headers: { Accept: "application/json" } })
          .then((res) => (res.ok ? res.json() : {}))
          .catch(() => ({}));
      }
      const entry = (await this.catalog)[workflowName];
      return (entry && (entry.display_name || entry.name)) || workflowName;
    }

    close() {
      const wasOpen = this.surface !== "closed";
      this.disconnect();
      this.setSurface("closed");
      if (wasOpen) this.dispatch("mozaiks:chat:close");
    }

    // ── HTTP ──

    runtimeBase() {
      // Default: where this script came from, minus its static/ folder. Paths below are relative
      // to this base, so a runtime behind a path prefix (https://host/chat/) works as well.
      const base = new URL(this.config.runtimeUrl || new URL("..", scriptBase()).href, window.location.href);
      if (!base.pathname.endsWith("/")) base.pathname += "/";
      return base;
    }

    async fetchToken() {
      const cfg = this.config;
      if (typeof cfg.getToken === "function") return String(await cfg.getToken());
      if (cfg.tokenEndpoint) {
        const res = await fetch(cfg.tokenEndpoint, { credentials: "include", headers: { Accept: "application/json" } });
        if (!res.ok) throw new Error(`Could not get a sign-in token (HTTP ${res.status}).`);
        const type = res.headers.get("content-type") || "";
        if (!type.includes("json")) return (await res.text()).trim();
        const body = await res.json();
        return body.token || body.access_token || body.jwt || "";
      }
      return cfg.token || "";
    }

    async startChat(workflowName) {
      const token = await this.fetchToken();
      const path = `api/chats/${encodeURIComponent(this.config.appId)}/${encodeURIComponent(workflowName)}/start`;
      const headers = { "Content-Type": "application/json", Accept: "application/json" };
      if (token) headers.Authorization = `Bearer ${token}`;
      const res = await fetch(new URL(path, this.runtimeBase()), { method: "POST", headers, body: "{}" });
      const body = await res.json().catch(() => ({}));
      if (!res.ok || !body.chat_id) throw new Error(httpErrorText(res.status, body));
      return body.chat_id;
    }

    async authedFetch(path, init) {
      const token = await this.fetchToken();
      const headers = { Accept: "application/json" };
      if (token) headers.Authorization = `Bearer ${token}`;
      const res = await fetch(new URL(path, this.runtimeBase()), Object.assign({}, init, { headers }));
      const body = await res.json().catch(() => ({}));
      if (!res.ok) throw new Error(body.detail || `The chat service answered HTTP ${res.status}.`);
      return body;
    }

    async listChats() {
      const body = await this.authedFetch("api/sessions?limit=50", { method: "GET" });
      return body.sessions || [];
    }

    async deleteChat(chatId) {
      // force: a run going on in the chat is stopped first rather than refusing (409).
      const body = await this.authedFetch(`api/sessions/${encodeURIComponent(chatId)}?force=true`, { method: "DELETE" });
      if (this.chat && this.chat.chatId === chatId) this.onChatDeleted();
      const item = this.chatList.querySelector(`[data-chat-id="${CSS.escape(chatId)}"]`);
      if (item) item.remove();
      if (!this.chatList.hidden && !this.chatList.querySelector("[data-chat-id]")) this.showChatsNote("No chats yet.");
      return body.deleted;
    }

    onChatDeleted() {
      // The chat is gone (deleted here or elsewhere): forget it; reconnecting would start an
      // empty chat under the same id.
      const detail = this.chat ? { workflow_name: this.chat.workflowName, chat_id: this.chat.chatId } : {};
      this.disconnect();
      this.chat = null;
      this.remember();
      this.setRunning(false);
      this.setActivity(null);
      this.setPendingInput(null);
      this.root.setAttribute("data-chat-status", "deleted");
      this.setBanner(ERROR_TEXT.CHAT_DELETED, false);
      this.host.dispatchEvent(new CustomEvent("mozaiks:chat:deleted", { detail, bubbles: true, composed: true }));
    }

    // ── the user's chats ──

    async toggleChats() {
      const show = this.chatList.hidden;
      this.chatList.hidden = !show;
      this.chatsButton.setAttribute("aria-expanded", String(show));
      if (show) await this.refreshChats();
    }

    showChatsNote(text) {
      this.chatList.replaceChildren(el("li", { class: "mzk-chats__note", text }));
    }

    async refreshChats() {
      this.showChatsNote("Loading…");
      let sessions;
      try {
        sessions = await this.listChats();
      } catch (err) {
        this.showChatsNote(err.message || String(err));
        return;
      }
      if (!sessions.length) return this.showChatsNote("No chats yet.");
      this.chatList.replaceChildren(...sessions.map((s) => this.chatItem(s)));
    }

    chatItem(session) {
      const when = new Date(session.updated_at).toLocaleString();
      const current = this.chat && this.chat.chatId === session.chat_id;
      const open = el("button", {
        class: "mzk-chats__open",
        type: "button",
        title: session.chat_id,
        onclick: () => {
          this.toggleChats();
          this.open({ workflow_name: session.workflow_name, chat_id: session.chat_id }).catch((err) => this.showError(err.message || String(err)));
        },
      }, [el("span", { class: "mzk-chats__name", text: session.workflow_name }), el("span", { class: "mzk-chats__when", text: when })]);
      // Two clicks: the first asks, the second deletes (no modal dialog in the host page).
      const remove = el("button", { class: "mzk-chats__delete", type: "button", "aria-label": "Delete this chat", text: "Delete" });
      remove.addEventListener("click", () => {
        if (remove.getAttribute("data-confirm") !== "true") {
          remove.setAttribute("data-confirm", "true");
          remove.textContent = "Delete for good?";
          return;
        }
        remove.disabled = true;
        this.deleteChat(session.chat_id).catch((err) => {
          remove.disabled = false;
          remove.title = err.message || String(err);
        });
      });
      return el("li", { class: "mzk-chats__item", "data-chat-id": session.chat_id, "data-current": current ? "true" : null }, [open, remove]);
    }

    // ── WebSocket lifecycle ──

    socketUrl(token) {
      const base = this.runtimeBase();
      const { workflowName, chatId } = this.chat;
      const parts = [workflowName, this.config.appId, chatId, this.config.userId].map(encodeURIComponent);
      const url = new URL(`ws/${parts.join("/")}`, base);
      url.protocol = base.protocol === "https:" ? "wss:" : "ws:";
      if (this.lastSeq > 0) url.searchParams.set("last_seq", String(this.lastSeq));
      if (token && this.config.tokenTransport === "query") url.searchParams.set("access_token", token);
      return url.href;
    }

    async connect() {
      clearTimeout(this.reconnectTimer);
      const gen = ++this.connGen;
      this.setConnection(this.attempt > 0 ? "reconnecting" : "connecting");
      let token;
      try {
        token = await this.fetchToken();
      } catch (err) {
        if (gen === this.connGen) this.scheduleReconnect(err.message);
        return;
      }
      if (gen !== this.connGen || !this.chat) return;
      const url = this.socketUrl(token);
      const useProtocol = token && this.config.tokenTransport !== "query";
      const ws = useProtocol ? new WebSocket(url, ["bearer", token]) : new WebSocket(url);
      this.socket = ws;
      ws.onmessage = (ev) => this.onSocketMessage(ws, ev);
      ws.onclose = (ev) => this.onSocketClose(ws, ev);
    }

    disconnect() {
      this.connGen++;
      clearTimeout(this.reconnectTimer);
      this.attempt = 0;
      const ws = this.socket;
      this.socket = null;
      if (ws) ws.close(1000, "widget closed");
      this.setConnection("idle");
    }

    reconnectNow(manual) {
      if (!this.chat || this.surface === "closed") return;
      if (this.connection === "open" || this.connection === "connecting") return;
      if (manual) this.authRetried = false;
      if (this.socket === null) this.connect();
    }

    onSocketMessage(ws, ev) {
      if (ws !== this.socket) return;
      let frame;
      try {
        frame = JSON.parse(ev.data);
      } catch (_err) {
        return; // not a frame of ours
      }
      if (frame && typeof frame === "object") this.handleFrame(frame);
    }

    onSocketClose(ws, ev) {
      if (ws !== this.socket) return;
      this.socket = null;
      if (ev.code === 1008) return this.onPolicyClose(ev);
      if (ev.code === CHAT_DELETED_CLOSE) return this.onChatDeleted();
      this.scheduleReconnect(CLOSE_TEXT[ev.code] || "Connection lost.");
    }

    onPolicyClose(ev) {
      // A rejected token: a token provider may hand out a fresh one, so try once more.
      const canRefresh = typeof this.config.getToken === "function" || this.config.tokenEndpoint;
      if (canRefresh && !this.authRetried) {
        this.authRetried = true;
        this.scheduleReconnect("Signing in again…");
        return;
      }
      this.setConnection("failed");
      const text = REFUSAL_TEXT[ev.reason] || "The service refused this chat. Your sign-in may have expired.";
      this.setBanner(text, true);
    }

    scheduleReconnect(why) {
      if (!this.chat || this.surface === "closed") return this.setConnection("idle");
      const cfg = this.config;
      const backoff = Math.min(cfg.reconnectMaxMs, cfg.reconnectBaseMs * 2 ** this.attempt);
      const delay = Math.round(backoff * (0.8 + Math.random() * 0.4));
      this.attempt += 1;
      this.setConnection("reconnecting");
      const seconds = Math.max(1, Math.round(delay / 1000));
      this.setBanner(`${why} Reconnecting in ${seconds} s (attempt ${this.attempt})…`, true);
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(() => this.connect(), delay);
    }

    setConnection(state) {
      this.connection = state;
      this.root.setAttribute("data-connection", state);
      this.statusNode.setAttribute("data-state", state);
      this.statusNode.lastChild.textContent = CONNECTION_TEXT[state] || state;
      const canSend = state === "open";
      this.sendButton.disabled = !canSend;
      if (state === "open" || state === "idle") this.setBanner(null);
    }

    setBanner(text, showRetry) {
      this.banner.hidden = !text;
      this.bannerText.textContent = text || "";
      this.bannerRetry.hidden = !showRetry;
    }

    send(message) {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
        this.showError("Not connected. Your message was not sent; please try again when connected.");
        return false;
      }
      this.socket.send(JSON.stringify(message));
      return true;
    }

    // ── incoming frames ──

    handleFrame(frame) {
      if (typeof frame.seq === "number") {
        if (frame.seq <= this.lastSeq) return; // already shown: never twice
        if (frame.seq > this.lastSeq + 1) return this.onGap();
        this.lastSeq = frame.seq;
      }
      // The contract: fields of `data` read as if they were top-level.
      const data = Object.assign({}, frame, frame.data || {});
      const handler = FRAME_HANDLERS[frame.type];
      if (handler) handler.call(this, data, frame);
    }

    onGap() {
      // Events went missing on this socket; a new socket with ?last_seq= gets exactly those.
      const ws = this.socket;
      this.socket = null;
      if (ws) ws.close(4000, "sequence gap");
      this.scheduleReconnect("Catching up.");
    }

    onChatMeta(data) {
      // Only now is the socket really served: the runtime accepts a refused socket just to
      // close it with a reason (1008/1013), so "open" alone proves nothing.
      this.attempt = 0;
      this.authRetried = false;
      this.setConnection("open");
      if (this.connectedOnce) {
        // A reconnect: ask for anything above what we hold (the server never repeats itself).
        this.send({ type: "client.resume", chat_id: this.chat.chatId, last_seq: this.lastSeq, lastClientIndex: this.lastSeq });
      }
      this.connectedOnce = true;
      if (data.status && data.status !== "running") this.root.setAttribute("data-chat-status", data.status);
      this.setRunning(data.status === "running" || data.status === "waiting");
    }

    // ── rendering: messages ──

    append(node, seq) {
      if (seq !== undefined && seq !== null) node.setAttribute("data-seq", String(seq));
      const stick = this.isNearEnd();
      this.messages.append(node);
      if (stick) this.scrollToEnd();
      return node;
    }

    isNearEnd() {
      const box = this.messages.parentElement;
      return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
    }

    scrollToEnd(force) {
      const box = this.messages.parentElement;
      if (force || this.isNearEnd()) box.scrollTop = box.scrollHeight;
      requestAnimationFrame(() => {
        box.scrollTop = box.scrollHeight;
      });
    }

    clearConversation() {
      this.messages.replaceChildren();
      this.artifacts.replaceChildren();
      this.artifacts.hidden = true;
      this.root.removeAttribute("data-has-artifacts");
      this.root.removeAttribute("data-chat-status");
      this.connectedOnce = false;
      this.resetConversationState();
      this.renderUsage();
      this.setActivity(null);
      this.setPendingInput(null);
    }

    messageNode(role, agent, text) {
      const node = el("li", { class: `mzk-msg mzk-msg--${role}` });
      if (role === "agent") node.append(el("div", { class: "mzk-msg__name", text: agent || "Assistant" }));
      node.append(el("div", { class: "mzk-msg__body", text }));
      return node;
    }

    onText(data, frame) {
      if (data.visible === false) return this.dropStreamed(data.agent); // not shown to users
      if (data.role === "user") return this.onUserText(data, frame);
      const streamed = this.streaming.get(data.agent);
      this.streaming.delete(data.agent);
      this.setActivity(null);
      if (streamed) {
        streamed.classList.remove("mzk-msg--streaming");
        streamed.querySelector(".mzk-msg__body").textContent = String(data.content ?? "");
        streamed.setAttribute("data-seq", String(frame.seq));
        return;
      }
      this.append(this.messageNode("agent", data.agent, String(data.content ?? "")), frame.seq);
    }

    dropStreamed(agent) {
      const node = this.streaming.get(agent);
      this.streaming.delete(agent);
      if (node) node.remove();
    }

    onUserText(data, frame) {
      const text = String(data.content ?? "");
      const index = this.localEchoes.findIndex((echo) => !echo.masked && echo.text === text);
      if (index >= 0) {
        const [echo] = this.localEchoes.splice(index, 1);
        echo.node.classList.remove("mzk-msg--pending");
        echo.node.setAttribute("data-seq", String(frame.seq));
        return;
      }
      this.append(this.messageNode("user", null, text), frame.seq);
    }

    onTextChunk(data) {
      let node = this.streaming.get(data.agent);
      if (!node) {
        node = this.append(this.messageNode("agent", data.agent, ""));
        node.classList.add("mzk-msg--streaming");
        this.streaming.set(data.agent, node);
      }
      const body = node.querySelector(".mzk-msg__body");
      body.textContent += String(data.content ?? "");
      this.scrollToEnd();
    }

    showNotice(text, kind) {
      const node = el("li", { class: `mzk-note mzk-note--${kind || "info"}`, role: kind === "error" ? "alert" : null, text });
      return this.append(node);
    }

    showError(text, detail) {
      const node = this.showNotice(text, "error");
      if (detail && detail !== text) node.title = detail;
      return node;
    }

    onError(data, frame) {
      const code = data.error_code || "INTERNAL_ERROR";
      // An error without a seq answers something this page just sent: that message failed.
      if (typeof frame.seq !== "number") this.failLastEcho();
      const plain = ERROR_TEXT[code] || data.message || ERROR_TEXT.INTERNAL_ERROR;
      const node = this.showError(plain, data.message);
      node.setAttribute("data-error-code", code);
      if (code === "INPUT_REQUEST_NOT_FOUND" || code === "INPUT_TIMEOUT") this.setPendingInput(null);
      this.unlockBusyCards();
    }

    failLastEcho() {
      const echo = this.localEchoes.pop();
      if (!echo) return;
      echo.node.classList.remove("mzk-msg--pending");
      echo.node.classList.add("mzk-msg--failed");
      echo.node.title = "Not delivered";
      const card = echo.requestId && this.inputCards.get(echo.requestId);
      if (card && card.getAttribute("data-state") === "sent") this.markCard(card, "open", "Waiting for your answer");
    }

    setActivity(text) {
      this.activity.hidden = !text;
      this.activity.textContent = text || "";
    }

    setRunning(running) {
      this.stopButton.hidden = !running;
      this.stopButton.disabled = false;
    }

    cancelRun() {
      this.stopButton.disabled = true; // one request; the run's end hides the button
      this.send({ type: "chat.cancel", chat_id: this.chat ? this.chat.chatId : undefined, reason: "stopped in the chat window" });
    }

    onRunCancelled(data) {
      this.setActivity(null);
      this.setRunning(false);
      this.setPendingInput(null);
      this.unlockBusyCards();
      const node = this.showNotice("The run was cancelled.", "done");
      node.setAttribute("data-run-status", "cancelled");
      if (data.reason) node.title = String(data.reason);
      this.root.setAttribute("data-chat-status", "idle");
    }

    onRunComplete(data) {
      this.setActivity(null);
      this.setRunning(false);
      const status = data.status || "completed";
      const words = {
        completed: "The assistant has finished.",
        failed: "The run stopped because of an error.",
        stopped: "The run was stopped.",
        timeout: "The run stopped because nobody answered in time.",
      };
      const node = this.showNotice(words[status] || `The run ended (${status}).`, status === "completed" ? "done" : "error");
      node.setAttribute("data-run-status", status);
      if (data.summary) node.title = String(data.summary);
      this.root.setAttribute("data-chat-status", status);
    }

    // ── usage meter ──

    onUsageDelta(data) {
      const prompt = Number(data.prompt_tokens) || 0;
      const completion = Number(data.completion_tokens) || 0;
      this.usage.prompt += prompt;
      this.usage.completion += completion;
      this.usage.total += Number(data.total_tokens) || prompt + completion;
      this.renderUsage();
    }

    renderUsage() {
      const u = this.usage;
      this.usageNode.textContent = `${u.total.toLocaleString("en-US")} tokens`;
      this.usageNode.title = `Tokens used in this chat: ${u.prompt} prompt + ${u.completion} completion`;
      this.usageNode.setAttribute("data-total", String(u.total));
    }

    // ── input requests ──

    onInputRequest(data, frame) {
      this.setActivity(null);
      const card = el("li", { class: "mzk-card mzk-input-request", "data-request-id": data.request_id }, [
        el("div", { class: "mzk-msg__name", text: data.agent || "Assistant" }),
        el("div", { class: "mzk-card__prompt", text: data.prompt || "The assistant is waiting for your answer." }),
        el("div", { class: "mzk-card__state", text: "Waiting for your answer" }),
      ]);
      this.append(card, frame.seq);
      this.inputCards.set(data.request_id, card);
      this.setPendingInput({ requestId: data.request_id, prompt: data.prompt, password: !!data.password, node: card });
    }

    setPendingInput(pending) {
      this.pendingInput = pending;
      this.input.type = pending && pending.password ? "password" : "text";
      this.input.placeholder = pending ? (pending.password ? "Type your secret answer…" : "Type your answer…") : "Type a message…";
      this.promptNode.hidden = !pending;
      this.promptNode.textContent = pending ? pending.prompt || "The assistant asks:" : "";
      this.root.toggleAttribute("data-awaiting-input", !!pending);
      if (pending && this.surface !== "closed") this.input.focus();
    }

    onInputAck(data) {
      const requestId = data.request_id || data.input_request_id;
      const status = data.status || "accepted";
      const card = this.inputCards.get(requestId);
      if (status === "accepted" || status === "ok") {
        if (card) this.markCard(card, "answered", "Answered");
        if (this.pendingInput && this.pendingInput.requestId === requestId) this.setPendingInput(null);
        this.settleLocalEchoes(requestId);
        return;
      }
      this.showError("Your answer was not accepted. Please try again.", status);
    }

    settleLocalEchoes(requestId) {
      // An accepted answer is no longer pending; a secret one is never echoed back, so its
      // masked bubble stays as it is and stops waiting for an echo.
      for (const echo of this.localEchoes) {
        if (echo.requestId === requestId) echo.node.classList.remove("mzk-msg--pending");
      }
      this.localEchoes = this.localEchoes.filter((echo) => !(echo.masked && echo.requestId === requestId));
    }

    onInputTimeout(data) {
      const card = this.inputCards.get(data.request_id);
      if (card) this.markCard(card, "expired", "Expired: nobody answered in time");
      if (this.pendingInput && this.pendingInput.requestId === data.request_id) this.setPendingInput(null);
    }

    markCard(card, state, text) {
      card.setAttribute("data-state", state);
      const label = card.querySelector(".mzk-card__state");
      if (label) label.textContent = text;
    }

    onSubmit(ev) {
      ev.preventDefault();
      const text = this.input.value;
      if (!text.trim() || !this.chat) return;
      const pending = this.pendingInput;
      const message = { type: "user.input.submit", chat_id: this.chat.chatId, text };
      if (pending) message.input_request_id = pending.requestId;
      if (!this.send(message)) return;
      this.input.value = "";
      const masked = !!(pending && pending.password);
      const node = this.append(this.messageNode("user", null, masked ? "••••••••" : text));
      node.classList.add("mzk-msg--pending");
      this.localEchoes.push({ text, masked, node, requestId: pending ? pending.requestId : null });
      if (pending) this.markCard(pending.node, "sent", "Answer sent");
    }

    // ── tool calls (collapsed) ──

    onToolCall(data, frame) {
      if (data.awaiting_response || data.component_type) return this.onUiTool(data, frame);
      const status = el("span", { class: "mzk-tool__status", text: "running…" });
      const summary = el("summary", { class: "mzk-tool__summary" }, [
        el("span", { class: "mzk-tool__icon", "aria-hidden": "true", text: "⚙" }),
        el("span", { class: "mzk-tool__name", text: data.name || "tool" }),
        el("span", { class: "mzk-tool__agent", text: data.agent ? `by ${data.agent}` : "" }),
        status,
      ]);
      const result = el("pre", { class: "mzk-tool__result", text: "(no result yet)" });
      const details = el("details", { class: "mzk-tool", "data-call-id": data.call_id, "data-state": "running" }, [
        summary,
        el("div", { class: "mzk-tool__label", text: "Arguments" }),
        el("pre", { class: "mzk-tool__args", text: prettyJson(data.arguments ?? {}) }),
        el("div", { class: "mzk-tool__label", text: "Result" }),
        result,
      ]);
      this.toolNodes.set(data.call_id, details);
      this.append(el("li", { class: "mzk-tool-item" }, [details]), frame.seq);
    }

    onToolResponse(data) {
      const details = this.toolNodes.get(data.call_id);
      if (!details) return;
      const ok = !data.status || data.status === "ok" || data.status === "success";
      details.setAttribute("data-state", ok ? "done" : "error");
      details.querySelector(".mzk-tool__status").textContent = ok ? "done" : "failed";
      details.querySelector(".mzk-tool__result").textContent = prettyJson(data.result ?? "");
    }

    // ── UI tools ──

    onUiTool(data, frame) {
      this.setActivity(null);
      const eventId = data.corr || data.eventId || data.event_id;
      const payload = data.payload && typeof data.payload === "object" ? data.payload : {};
      const render = UI_COMPONENTS[data.component_type] || renderGenericTool;
      const card = el("div", {
        class: `mzk-card mzk-ui-tool mzk-ui-tool--${data.component_type || "generic"}`,
        "data-event-id": eventId,
        "data-component": data.component_type || "generic",
        "data-state": "open",
      });
      card.append(el("div", { class: "mzk-msg__name", text: data.agent || data.tool_name || "Assistant" }));
      card.append(render(payload, (response) => this.answerUiTool(eventId, card, response)));
      card.append(el("div", { class: "mzk-card__state", text: "" }));
      this.uiTools.set(eventId, card);
      this.placeUiTool(card, data, frame);
    }

    placeUiTool(card, data, frame) {
      if (data.display !== "artifact") {
        this.append(el("li", { class: "mzk-ui-item" }, [card]), frame.seq);
        return;
      }
      this.artifacts.hidden = false;
      this.root.setAttribute("data-has-artifacts", "");
      this.artifacts.append(card);
      const note = this.showNotice(`${data.tool_name || "A panel"} opened in the side panel.`);
      note.setAttribute("data-seq", String(frame.seq));
    }

    answerUiTool(eventId, card, response) {
      if (card.getAttribute("data-state") !== "open") return;
      if (!this.send({ type: "ui_tool_response", eventId, response })) return;
      this.setCardBusy(card, true);
      this.markCard(card, "sending", "Sending…");
    }

    setCardBusy(card, busy) {
      card.querySelectorAll("button, input, select, textarea").forEach((n) => {
        n.disabled = busy;
      });
    }

    unlockBusyCards() {
      for (const card of this.uiTools.values()) {
        if (card.getAttribute("data-state") === "sending") {
          this.setCardBusy(card, false);
          this.markCard(card, "open", "");
        }
      }
    }

    onUiToolDone(data, frame) {
      const card = this.uiTools.get(data.eventId || data.event_id);
      if (!card) return;
      this.setCardBusy(card, true);
      const dismissed = frame.type === "chat.ui_tool_dismiss";
      this.markCard(card, dismissed ? "dismissed" : "completed", dismissed ? "Dismissed" : "Answered");
    }

    onUiToolAck(data) {
      const card = this.uiTools.get(data.eventId || data.event_id);
      if (!card) return;
      const status = data.status || "accepted";
      if (status === "accepted" || status === "ok" || status === "completed") {
        this.markCard(card, "completed", "Answered");
        return;
      }
      this.setCardBusy(card, false);
      this.markCard(card, "open", "");
      this.showError("Your answer could not be delivered. Please try again.", status);
    }
  }

  // ── UI components rendered from a UI tool's payload ───────────────────────────

  function cardHeading(payload, fallback) {
    return el("div", { class: "mzk-card__title", text: payload.title || payload.heading || fallback });
  }

  function payloadMessage(payload) {
    const text = payload.message || payload.question || payload.prompt || payload.description || payload.text;
    return text ? el("p", { class: "mzk-card__text", text: String(text) }) : null;
  }

  // Payload keys that shape the card itself; any other key is a value the agent passed.
  const PRESENTATION_KEYS = new Set([
    "title", "heading", "message", "question", "prompt", "description", "text", "details",
    "confirm_label", "cancel_label", "confirmLabel", "cancelLabel", "submit_label", "submitLabel",
    "fields", "schema", "json_schema", "properties", "required", "values",
  ]);

  function payloadDetails(payload) {
    if (payload.details && typeof payload.details === "object") return payload.details;
    const values = {};
    for (const [key, value] of Object.entries(payload)) {
      if (!PRESENTATION_KEYS.has(key)) values[key] = value;
    }
    return values;
  }

  function detailsList(details) {
    if (!details || typeof details !== "object" || !Object.keys(details).length) return null;
    const list = el("dl", { class: "mzk-card__details" });
    for (const [key, value] of Object.entries(details)) {
      list.append(el("dt", { text: key }), el("dd", { text: typeof value === "object" ? prettyJson(value) : String(value) }));
    }
    return list;
  }

  function renderConfirmation(payload, answer) {
    const confirm = el("button", {
      class: "mzk-button mzk-button--primary mzk-confirm",
      type: "button",
      text: payload.confirm_label || payload.confirmLabel || "Confirm",
      onclick: () => answer({ confirmed: true }),
    });
    const cancel = el("button", {
      class: "mzk-button mzk-cancel",
      type: "button",
      text: payload.cancel_label || payload.cancelLabel || "Cancel",
      onclick: () => answer({ confirmed: false }),
    });
    return el("div", { class: "mzk-card__content" }, [
      cardHeading(payload, "Please confirm"),
      payloadMessage(payload),
      detailsList(payloadDetails(payload)),
      el("div", { class: "mzk-card__actions" }, [cancel, confirm]),
    ]);
  }

  function formFields(payload) {
    // A field's initial value: its own default, else what the agent suggested for it.
    const suggested = payload.values && typeof payload.values === "object" ? payload.values : payload;
    const withSuggestion = (field) =>
      field.default === undefined && suggested[field.name] !== undefined && typeof suggested[field.name] !== "object"
        ? Object.assign({}, field, { default: suggested[field.name] })
        : field;
    return declaredFields(payload).map(withSuggestion);
  }

  function declaredFields(payload) {
    if (Array.isArray(payload.fields)) return payload.fields.filter((f) => f && f.name);
    const schema = payload.schema || payload.json_schema || (payload.properties ? payload : null);
    if (!schema || typeof schema.properties !== "object") return [];
    const required = new Set(schema.required || []);
    return Object.entries(schema.properties).map(([name, prop]) => ({
      name,
      label: prop.title || name,
      type: schemaInputType(prop),
      options: prop.enum,
      required: required.has(name),
      placeholder: prop.description,
      default: prop.default,
    }));
  }

  function schemaInputType(prop) {
    if (prop.enum) return "select";
    if (prop.type === "boolean") return "checkbox";
    if (prop.type === "number" || prop.type === "integer") return "number";
    if (prop.format === "email") return "email";
    if (prop.format === "password" || prop.writeOnly) return "password";
    return "text";
  }

  function fieldControl(field) {
    const id = `mzk-f-${Math.random().toString(36).slice(2, 10)}`;
    const common = { id, name: field.name, class: "mzk-field__control", required: !!field.required };
    let control;
    if (field.type === "select" && Array.isArray(field.options)) {
      control = el("select", common, field.options.map((o) => optionNode(o, field.default)));
    } else if (field.type === "textarea") {
      control = el("textarea", Object.assign({ rows: 3, placeholder: field.placeholder }, common));
      if (field.default !== undefined) control.value = String(field.default);
    } else {
      const allowed = ["text", "number", "email", "password", "checkbox", "date", "tel", "url"];
      const type = allowed.includes(field.type) ? field.type : "text";
      control = el("input", Object.assign({ type, placeholder: field.placeholder }, common));
      if (type === "checkbox") control.checked = !!field.default;
      else if (field.default !== undefined) control.value = String(field.default);
    }
    control.setAttribute("data-field-type", field.type || "text");
    const label = el("label", { class: "mzk-field__label", for: id, text: field.label || field.name });
    return el("div", { class: "mzk-field" }, [label, control]);
  }

  function optionNode(option, selected) {
    const value = typeof option === "object" && option !== null ? option.value : option;
    const label = typeof option === "object" && option !== null ? option.label || option.value : option;
    const node = el("option", { value: String(value), text: String(label) });
    if (selected !== undefined && String(selected) === String(value)) node.selected = true;
    return node;
  }

  function readForm(form) {
    const out = {};
    form.querySelectorAll(".mzk-field__control").forEach((control) => {
      const type = control.getAttribute("data-field-type");
      if (type === "checkbox") out[control.name] = control.checked;
      else if (type === "number") out[control.name] = control.value === "" ? null : Number(control.value);
      else out[control.name] = control.value;
    });
    return out;
  }

  function renderForm(payload, answer) {
    const form = el("form", { class: "mzk-form", novalidate: false });
    form.append(cardHeading(payload, "Please fill in"));
    const message = payloadMessage(payload);
    if (message) form.append(message);
    formFields(payload).forEach((field) => form.append(fieldControl(field)));
    const submit = el("button", { class: "mzk-button mzk-button--primary mzk-submit", type: "submit", text: payload.submit_label || payload.submitLabel || "Submit" });
    form.append(el("div", { class: "mzk-card__actions" }, [submit]));
    form.addEventListener("submit", (ev) => {
      ev.preventDefault();
      if (form.reportValidity()) answer(readForm(form));
    });
    return form;
  }

  function renderGenericTool(payload, answer) {
    return el("div", { class: "mzk-card__content" }, [
      cardHeading(payload, "The assistant shared something"),
      payloadMessage(payload),
      detailsList(payloadDetails(payload)),
      el("div", { class: "mzk-card__actions" }, [
        el("button", { class: "mzk-button mzk-button--primary", type: "button", text: "OK", onclick: () => answer({ acknowledged: true }) }),
      ]),
    ]);
  }

  const UI_COMPONENTS = {
    confirmation: renderConfirmation,
    confirm: renderConfirmation,
    approval: renderConfirmation,
    form: renderForm,
  };

  function httpErrorText(status, body) {
    const code = body && body.error_code;
    if (code && ERROR_TEXT[code]) return ERROR_TEXT[code];
    const detail = body && typeof body.detail === "string" ? body.detail : "";
    if (status === 401) return ERROR_TEXT.UNAUTHORIZED;
    if (status === 403) return ERROR_TEXT.FORBIDDEN;
    if (status === 404) return detail || ERROR_TEXT.WORKFLOW_NOT_FOUND;
    if (status === 429) return ERROR_TEXT.RATE_LIMITED;
    if (status >= 500) return ERROR_TEXT.INTERNAL_ERROR;
    return detail || `The chat could not be started (HTTP ${status}).`;
  }

  const FRAME_HANDLERS = {
    chat_meta: ChatWidget.prototype.onChatMeta,
    "chat.run_start": function (data) {
      this.setActivity(`${data.agent || "The assistant"} is working…`);
      this.setRunning(true);
    },
    "chat.select_speaker": function (data) {
      this.setActivity(`${data.agent || "The assistant"} is thinking…`);
    },
    "chat.text": ChatWidget.prototype.onText,
    "chat.text_chunk": ChatWidget.prototype.onTextChunk,
    "chat.tool_call": ChatWidget.prototype.onToolCall,
    "chat.tool_response": ChatWidget.prototype.onToolResponse,
    "chat.input_request": ChatWidget.prototype.onInputRequest,
    "chat.input_ack": ChatWidget.prototype.onInputAck,
    "ack.input": ChatWidget.prototype.onInputAck,
    "chat.input_timeout": ChatWidget.prototype.onInputTimeout,
    "chat.ui_tool_complete": ChatWidget.prototype.onUiToolDone,
    "chat.ui_tool_dismiss": ChatWidget.prototype.onUiToolDone,
    "ack.ui_tool_response": ChatWidget.prototype.onUiToolAck,
    "chat.usage_delta": ChatWidget.prototype.onUsageDelta,
    "chat.run_complete": ChatWidget.prototype.onRunComplete,
    "chat.run_cancelled": ChatWidget.prototype.onRunCancelled,
    "chat.error": ChatWidget.prototype.onError,
    ping: function () {
      this.send({ type: "pong" });
    },
  };

  // ── the public API ───────────────────────────────────────────────────────────

  let widget = null;

  function init(config) {
    if (widget) {
      Object.assign(widget.config, config || {});
      return api;
    }
    const merged = Object.assign(configFromDataset(scriptDataset()), config || {});
    if (!merged.appId) throw new Error("mozaiksChat.init needs an appId (or data-app-id)");
    widget = new ChatWidget(merged);
    widget.restore();
    return api;
  }

  function requireWidget() {
    if (!widget) init({});
    return widget;
  }

  const api = {
    version: VERSION,
    init,
    open: (options) => requireWidget().open(options),
    close: () => requireWidget().close(),
    chats: () => requireWidget().listChats(),
    deleteChat: (chatId) => requireWidget().deleteChat(chatId),
    expand: () => requireWidget().setSurface("overlay"),
    collapse: () => requireWidget().setSurface("compact"),
    state: () =>
      widget
        ? {
            surface: widget.surface,
            connection: widget.connection,
            workflow_name: widget.chat && widget.chat.workflowName,
            chat_id: widget.chat && widget.chat.chatId,
            last_seq: widget.lastSeq,
            usage: Object.assign({}, widget.usage),
          }
        : null,
  };

  window.mozaiksChat = api;

  const data = scriptDataset();
  if (data.appId && data.autoInit !== "false") {
    const start = () => init({});
    if (document.body) start();
    else document.addEventListener("DOMContentLoaded", start, { once: true });
  }
})();
