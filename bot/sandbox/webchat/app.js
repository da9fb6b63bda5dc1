"use strict";

// The sandbox web chat. Talks to the client API under /sandbox/api and follows the open chat
// through its long-poll endpoint, so the bot's edits and deletions show up without reloading.

const API = "/sandbox/api";
const POLL_WAIT_SECONDS = 25;
const SEND_TIMEOUT_SECONDS = 10;
const STORE_TABS = "meydan.sandbox.tabs";
const STORE_ROLES = "meydan.sandbox.roles";
// A /command in the bot's text, as Telegram makes it tappable: not glued to a letter, digit, "_" or "/".
const COMMAND_IN_TEXT = /(?<![\p{L}\p{N}_/])\/[a-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![\p{L}\p{N}_/@])/gu;
const STICKERS = ["👍", "❤️", "😂", "🎉", "🙏", "😮", "😢", "🌳"];
const PLACES = [
  { name: "İzmir, Kültürpark", latitude: 38.4275, longitude: 27.1439 },
  { name: "İzmir, Bostanlı Sahil Parkı", latitude: 38.456, longitude: 27.095 },
  { name: "İzmir, Homeros Vadisi", latitude: 38.484, longitude: 27.23 },
  { name: "Liège, Parc de la Boverie", latitude: 50.6336, longitude: 5.5786 },
  { name: "Ankara, Kızılay (outside both cities)", latitude: 39.9208, longitude: 32.8541 },
];

const state = {
  bot: null,
  botTimer: null,
  profile: null,
  view: "list",
  menuActive: -1,
  people: new Map(),
  // Counts changes this page made to people; a list fetched across one of them is stale.
  peopleWrites: 0,
  roles: loadJson(STORE_ROLES, {}),
  tabs: loadJson(STORE_TABS, []),
  active: null,
  chats: new Map(),
  follow: null,
  pending: 0,
  replyTo: null,
  keyboardShown: true,
  keyboardFor: null,
  keyboardCollapsed: false,
  autoReplied: new Set(),
};

const $ = (id) => document.getElementById(id);

function loadJson(key, fallback) {
  try {
    const raw = localStorage.getItem(key);
    return raw ? JSON.parse(raw) : fallback;
  } catch {
    return fallback;
  }
}

function saveJson(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage can be unavailable (private mode); the page keeps working without it.
  }
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body = null, signal = undefined) {
  const init = { method, signal, headers: {} };
  if (body !== null) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(API + path, init);
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const reason = data && (data.description || data.error || data.message);
    throw new ApiError(response.status, reason || `${response.status} ${response.statusText}`);
  }
  return data;
}

// ---- feedback -------------------------------------------------------------------------------

let toastTimer = null;

function chatVisible() {
  return $("chat-body").getClientRects().length > 0;
}

function toast(text, link = null) {
  const box = $("toast");
  // Inside the open chat the toast floats over the messages, below the chat header, which stays usable.
  const inChat = chatVisible();
  const host = inChat ? $("chat-body") : document.body;
  if (box.parentElement !== host) host.append(box);
  box.classList.toggle("in-chat", inChat);
  box.replaceChildren(el("span", { text }));
  if (link) box.append(" ", el("a", { href: link, target: "_blank", rel: "noopener", text: "Open" }));
  box.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    box.hidden = true;
  }, 3500);
}

function showAlert(text) {
  const dialog = $("alert-dialog");
  $("alert-title").textContent = botName();
  $("alert-text").textContent = text;
  // Not modal: the alert sits over the messages and the chat header stays visible and usable.
  if (!dialog.open) dialog.show();
  dialog.querySelector("button").focus();
}

function closeAlert() {
  const dialog = $("alert-dialog");
  if (dialog.open) dialog.close();
}

function updateStatus(text = null) {
  if (text !== null) $("status").textContent = text;
  else $("status").textContent = state.pending > 0 ? "Waiting for the bot…" : "";
}

function botName() {
  return (state.profile && state.profile.name) || (state.bot && state.bot.first_name) || "Bot";
}

// ---- bot and people -------------------------------------------------------------------------

async function refreshBot() {
  clearTimeout(state.botTimer);
  try {
    state.bot = await api("GET", "/bot");
    const bot = state.bot;
    const delivery = bot.delivery ? `via ${bot.delivery}` : "not connected yet";
    $("bot-info").textContent = `${bot.first_name} (@${bot.username}) · ${delivery}`;
    renderProfile();
  } catch (error) {
    $("bot-info").textContent = `Sandbox unreachable: ${error.message}`;
  }
  const connected = Boolean(state.bot && state.bot.delivery);
  state.botTimer = setTimeout(refreshBot, connected ? 10000 : 1000);
  refreshProfile();
}

// The bot as the open chat's person sees it: name and descriptions in their language, their commands.
async function refreshProfile() {
  const id = state.active;
  if (id === null) return;
  let profile;
  try {
    profile = await api("GET", `/people/${id}/bot`);
  } catch {
    return;
  }
  if (state.active !== id) return;
  const changed = JSON.stringify(profile) !== JSON.stringify(state.profile);
  state.profile = profile;
  if (changed) renderProfile();
}

function renderProfile() {
  const name = botName();
  $("chat-title").textContent = name;
  $("chat-avatar").textContent = name.slice(0, 1).toUpperCase();
  const about = (state.profile && state.profile.short_description) || "";
  $("chat-about").textContent = about;
  $("chat-about").hidden = !about;
  $("chat-about").title = about;
  renderEmptyState();
  renderMenuButton();
  const menu = $("command-menu");
  if (!menu.hidden) openCommandMenu(menu.dataset.prefix || "");
}

async function refreshPeople() {
  for (;;) {
    const writes = state.peopleWrites;
    let data;
    try {
      data = await api("GET", "/people");
    } catch (error) {
      toast(`Could not load people: ${error.message}`);
      return;
    }
    if (writes !== state.peopleWrites) continue;
    state.people = new Map(data.people.map((p) => [p.id, p]));
    break;
  }
  const known = state.tabs.filter((id) => state.people.has(id));
  if (known.length !== state.tabs.length) {
    state.tabs = known;
    saveJson(STORE_TABS, state.tabs);
    if (state.active !== null && !state.people.has(state.active)) selectPerson(state.tabs[0] ?? null);
  }
  renderPeople();
  renderTabs();
  renderHeader();
}

function personLabel(person) {
  return [person.first_name, person.last_name].filter(Boolean).join(" ");
}

function personDetails(person) {
  const parts = [`id ${person.id}`];
  if (person.username) parts.push(`@${person.username}`);
  if (person.language_code) parts.push(person.language_code);
  return parts.join(" · ");
}

function roleBadge(id) {
  const role = state.roles[id];
  return role ? el("span", { class: `badge role-${role}`, text: role }) : null;
}

function renderPeople() {
  const list = $("people-list");
  const people = [...state.people.values()].sort((a, b) => a.id - b.id);
  list.replaceChildren(
    ...people.map((person) =>
      el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            class: "person" + (person.id === state.active ? " current" : ""),
            "aria-current": person.id === state.active ? "true" : null,
            onclick: () => openChat(person.id),
          },
          el("span", { class: "person-name", text: personLabel(person) }),
          " ",
          roleBadge(person.id),
          person.blocked ? el("span", { class: "badge blocked", text: "blocked" }) : null,
          el("span", { class: "hint person-details", text: personDetails(person) }),
        ),
      ),
    ),
  );
  $("people-empty").hidden = people.length > 0;
}

function renderTabs() {
  const tabs = $("tabs");
  tabs.replaceChildren(
    ...state.tabs
      .filter((id) => state.people.has(id))
      .map((id) => {
        const person = state.people.get(id);
        const selected = id === state.active;
        return el(
          "li",
          { role: "presentation", class: selected ? "selected" : "" },
          el(
            "button",
            {
              type: "button",
              role: "tab",
              "aria-selected": selected ? "true" : "false",
              "aria-controls": "phone",
              onclick: () => {
                selectPerson(id);
                setView("chat");
              },
            },
            personLabel(person),
            " ",
            roleBadge(id),
          ),
          el("button", {
            type: "button",
            class: "tab-close",
            "aria-label": `Close chat with ${personLabel(person)}`,
            text: "×",
            onclick: () => closeTab(id),
          }),
        );
      }),
  );
}

function renderHeader() {
  const person = state.active !== null ? state.people.get(state.active) : null;
  $("phone").hidden = !person;
  $("no-chat").hidden = Boolean(person);
  if (!person) return;
  const role = state.roles[person.id];
  $("chat-subtitle").textContent = `talking as ${personLabel(person)}${role ? ` (${role})` : ""} · ${personDetails(person)}`;
  $("block-toggle").textContent = person.blocked ? "Unblock bot" : "Block bot";
  $("block-toggle").setAttribute("aria-pressed", person.blocked ? "true" : "false");
  $("blocked-banner").hidden = !person.blocked;
  renderEmptyState();
}

// What a new chat shows (as Telegram does): the bot's description and a Start button.
function renderEmptyState() {
  const chat = state.active !== null ? state.chats.get(state.active) : null;
  const person = state.active !== null ? state.people.get(state.active) : null;
  const empty = Boolean(chat) && chat.messages.length === 0;
  const description = (state.profile && state.profile.description) || "";
  $("empty-chat").hidden = !empty;
  $("bot-intro").hidden = !description;
  $("bot-description").textContent = description;
  $("no-messages").hidden = Boolean(description);
  const blocked = Boolean(person && person.blocked);
  $("start-bar").hidden = !(empty || blocked);
  $("start-button").textContent = empty ? "Start" : "Restart";
}

function openChat(id) {
  if (!state.tabs.includes(id)) {
    state.tabs.push(id);
    saveJson(STORE_TABS, state.tabs);
  }
  selectPerson(id);
  setView("chat");
  setPanelOpen(false);
  $("message-input").focus();
}

function closeTab(id) {
  state.tabs = state.tabs.filter((tab) => tab !== id);
  saveJson(STORE_TABS, state.tabs);
  if (state.active === id) selectPerson(state.tabs[state.tabs.length - 1] ?? null);
  else renderTabs();
}

function selectPerson(id) {
  const changed = state.active !== id;
  if (changed) {
    state.replyTo = null;
    state.keyboardShown = true;
    state.keyboardFor = null;
    state.profile = null;
    $("messages").replaceChildren();
    closeCommandMenu();
    closeAlert();
  }
  state.active = id;
  renderProfile();
  renderTabs();
  renderPeople();
  renderHeader();
  renderReplyTarget();
  if (id === null) {
    stopFollowing();
    setView("list");
    return;
  }
  const chat = state.chats.get(id);
  if (chat) renderChat(chat, true);
  if (changed) refreshProfile();
  follow(id);
}

// On a narrow (phone) screen the page shows either the list of open chats or one conversation.
function setView(view) {
  state.view = view;
  document.body.dataset.view = view;
}

function backToList() {
  setView("list");
  closeCommandMenu();
  const selected = document.querySelector('#tabs [aria-selected="true"]');
  if (selected) selected.focus();
}

// ---- following a chat -----------------------------------------------------------------------

function stopFollowing() {
  if (state.follow) state.follow.abort();
  state.follow = null;
}

async function follow(personId) {
  stopFollowing();
  const controller = new AbortController();
  state.follow = controller;
  let since = null;
  let delay = 500;
  while (!controller.signal.aborted) {
    try {
      const query = since === null ? "" : `?since=${since}&wait=${POLL_WAIT_SECONDS}`;
      const data = await api("GET", `/people/${personId}/chat${query}`, null, controller.signal);
      if (controller.signal.aborted) return;
      since = data.version;
      delay = 500;
      const first = !state.chats.has(personId);
      state.chats.set(personId, data);
      if (state.active === personId) {
        renderChat(data, first);
        if (state.pending === 0) updateStatus("");
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      if (error.status === 404) {
        toast("This person no longer exists in the sandbox.");
        await refreshPeople();
        return;
      }
      updateStatus(`Connection lost (${error.message}); retrying…`);
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    }
  }
}

// ---- rendering messages ---------------------------------------------------------------------

function formatTime(date) {
  if (!date) return "";
  return new Date(date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function renderChat(chat, forceScroll = false) {
  const box = $("messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  const existing = new Map([...box.children].map((node) => [node.dataset.messageId, node]));
  const wanted = new Set();
  let previous = null;
  let grew = false;
  const byId = new Map(chat.messages.map((m) => [m.message_id, m]));
  for (const message of chat.messages) {
    const key = String(message.message_id);
    wanted.add(key);
    const quoted = message.reply_to_message_id ? byId.get(message.reply_to_message_id) || null : null;
    const signature = JSON.stringify([message, quoted && quotePreview(quoted)]);
    let node = existing.get(key);
    if (!node || node.dataset.signature !== signature) {
      const fresh = renderMessage(message, quoted);
      fresh.dataset.signature = signature;
      if (node) node.replaceWith(fresh);
      else grew = true;
      node = fresh;
    }
    const expected = previous ? previous.nextSibling : box.firstChild;
    if (node !== expected) box.insertBefore(node, expected);
    previous = node;
  }
  for (const [key, node] of existing) if (!wanted.has(key)) node.remove();
  if (forceScroll || nearBottom || grew) box.scrollTop = box.scrollHeight;
  renderReplyKeyboard(chat);
  applyForceReply(chat.messages);
  renderEmptyState();
}

function messageBody(message) {
  if (message.html !== null && message.html !== undefined) {
    const body = el("div", { class: "text" });
    body.innerHTML = message.html;
    if (message.from === "bot") linkifyCommands(body);
    return body;
  }
  const plain = message.text ?? message.caption;
  return plain ? el("div", { class: "text", text: plain }) : null;
}

// Turns /commands in the plain text of a bot message into buttons that send them, as Telegram does.
// Text inside links, code and pre blocks is left alone; the characters around a text node (in the
// neighbouring nodes) count for the word boundary.
function linkifyCommands(root) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) nodes.push(walker.currentNode);
  nodes.forEach((node, index) => {
    if (node.parentElement.closest("a, code, pre, button")) return;
    const text = node.nodeValue;
    if (!text.includes("/")) return;
    const before = index > 0 ? nodes[index - 1].nodeValue.slice(-1) : "";
    const after = index + 1 < nodes.length ? nodes[index + 1].nodeValue.slice(0, 1) : "";
    const padded = before + text + after;
    const parts = [];
    let last = 0;
    for (const match of padded.matchAll(COMMAND_IN_TEXT)) {
      const start = match.index - before.length;
      const end = start + match[0].length;
      if (start < 0 || end > text.length) continue;
      if (start > last) parts.push(text.slice(last, start));
      const command = match[0];
      parts.push(
        el("button", {
          type: "button",
          class: "bot-command",
          title: `Send ${command}`,
          text: command,
          onclick: () => sendText(command),
        }),
      );
      last = end;
    }
    if (parts.length === 0) return;
    if (last < text.length) parts.push(text.slice(last));
    node.replaceWith(...parts);
  });
}

function quotePreview(message) {
  if (message.text || message.caption) return (message.text || message.caption).slice(0, 80);
  if (message.photo) return "Photo";
  if (message.document) return message.document.file_name || "File";
  if (message.location) return "Location";
  if (message.contact) return "Contact";
  if (message.sticker) return `Sticker ${message.sticker.emoji || ""}`.trim();
  return "Message";
}

function renderMessage(message, quoted = null) {
  const fromBot = message.from === "bot";
  const bubble = el("div", { class: "bubble" });
  if (message.reply_to_message_id) {
    const who = quoted ? (quoted.from === "bot" ? botName() : "You") : "";
    bubble.append(
      el(
        "div",
        { class: "quote" },
        who ? el("strong", { text: who }) : null,
        el("span", { text: quoted ? quotePreview(quoted) : "Deleted message" }),
      ),
    );
  }
  if (message.photo) {
    bubble.append(el("img", { class: "photo", src: message.photo.url, alt: "Photo", loading: "lazy" }));
  }
  if (message.sticker) {
    bubble.append(el("div", { class: "sticker", role: "img", "aria-label": "Sticker", text: message.sticker.emoji || "🖼" }));
  }
  if (message.document) {
    const name = message.document.file_name || "file";
    bubble.append(el("a", { class: "document", href: message.document.url, download: name }, "📄 ", name));
  }
  if (message.location) {
    const { latitude, longitude } = message.location;
    bubble.append(
      el("div", { class: "location" }, "📍 ", `${Number(latitude).toFixed(5)}, ${Number(longitude).toFixed(5)}`),
    );
  }
  if (message.contact) {
    const contact = message.contact;
    const name = [contact.first_name, contact.last_name].filter(Boolean).join(" ");
    bubble.append(el("div", { class: "contact" }, "👤 ", name ? `${name}, ` : "", contact.phone_number || ""));
  }
  const body = messageBody(message);
  if (body) bubble.append(body);
  bubble.append(
    el(
      "div",
      { class: "meta" },
      message.edited ? el("span", { class: "edited", text: "edited" }) : null,
      el("time", { text: formatTime(message.date) }),
      el("button", {
        type: "button",
        class: "reply-button",
        "aria-label": "Reply to this message",
        title: "Reply",
        text: "↩",
        onclick: () => setReplyTo(message),
      }),
    ),
  );
  const row = el(
    "div",
    {
      class: `message ${fromBot ? "from-bot" : "from-person"}`,
      "data-message-id": message.message_id,
      "data-from": message.from,
      role: "article",
      "aria-label": fromBot ? `${botName()} says` : "You said",
    },
    bubble,
  );
  const markup = message.reply_markup;
  if (fromBot && markup && Array.isArray(markup.inline_keyboard)) row.append(renderInlineKeyboard(message));
  return row;
}

function renderInlineKeyboard(message) {
  const keyboard = el("div", { class: "inline-keyboard", role: "group", "aria-label": "Message buttons" });
  for (const row of message.reply_markup.inline_keyboard) {
    const line = el("div", { class: "kb-row" });
    for (const button of row) line.append(renderInlineButton(message, button));
    keyboard.append(line);
  }
  return keyboard;
}

function renderInlineButton(message, button) {
  if (button.url) {
    return el("a", { class: "kb-button", href: button.url, target: "_blank", rel: "noopener" }, button.text, " ↗");
  }
  if (button.callback_data !== undefined && button.callback_data !== null) {
    return el("button", {
      type: "button",
      class: "kb-button",
      text: button.text,
      onclick: (event) => pressButton(message.message_id, button.callback_data, event.currentTarget),
    });
  }
  if (button.copy_text) {
    return el("button", {
      type: "button",
      class: "kb-button",
      text: button.text,
      onclick: async () => {
        try {
          await navigator.clipboard.writeText(button.copy_text.text);
          toast("Copied to the clipboard.");
        } catch {
          toast(button.copy_text.text);
        }
      },
    });
  }
  return el("button", {
    type: "button",
    class: "kb-button",
    text: button.text,
    disabled: true,
    title: "This kind of button is not available in the sandbox",
  });
}

function currentReplyKeyboard(chat) {
  const messages = chat.messages;
  const answeredAfter = (index) => messages.slice(index + 1).some((m) => m.from === "person");
  if ("keyboard" in chat) {
    // The emulator says which reply keyboard the person has; it outlives the message that brought it.
    const markup = chat.keyboard;
    if (!markup || !Array.isArray(markup.keyboard)) return null;
    const wanted = JSON.stringify(markup);
    for (let i = messages.length - 1; i >= 0; i--) {
      const message = messages[i];
      if (message.from === "bot" && JSON.stringify(message.reply_markup) === wanted) {
        return { key: message.message_id, markup, answered: answeredAfter(i) };
      }
    }
    const last = messages[messages.length - 1];
    return { key: wanted, markup, answered: Boolean(last && last.from === "person") };
  }
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i];
    const markup = message.from === "bot" ? message.reply_markup : null;
    if (!markup) continue;
    if (markup.remove_keyboard) return null;
    if (Array.isArray(markup.keyboard)) return { key: message.message_id, markup, answered: answeredAfter(i) };
  }
  return null;
}

function renderReplyKeyboard(chat) {
  const box = $("reply-keyboard");
  const toggle = $("keyboard-toggle");
  const current = currentReplyKeyboard(chat);
  if (!current) {
    box.hidden = true;
    box.replaceChildren();
    toggle.hidden = true;
    $("message-input").placeholder = "Message";
    state.keyboardFor = null;
    return;
  }
  const { key, markup, answered } = current;
  const oneTimeUsed = Boolean(markup.one_time_keyboard && answered && !markup.is_persistent);
  if (state.keyboardFor !== key) {
    state.keyboardFor = key;
    state.keyboardShown = !oneTimeUsed;
    state.keyboardCollapsed = oneTimeUsed;
  } else if (oneTimeUsed && !state.keyboardCollapsed) {
    state.keyboardCollapsed = true;
    state.keyboardShown = false;
  }
  box.replaceChildren(
    ...markup.keyboard.map((row) =>
      el("div", { class: "kb-row" }, ...row.map((raw) => renderReplyButton(typeof raw === "string" ? { text: raw } : raw))),
    ),
  );
  box.hidden = !state.keyboardShown;
  toggle.hidden = false;
  toggle.setAttribute("aria-pressed", state.keyboardShown ? "true" : "false");
  $("message-input").placeholder = markup.input_field_placeholder || "Message";
}

function renderReplyButton(button) {
  let onclick = () => sendText(button.text);
  let disabled = false;
  if (button.request_contact) onclick = () => shareOwnContact();
  else if (button.request_location) onclick = () => openLocationDialog();
  else if (button.request_poll || button.request_users || button.request_user || button.request_chat || button.web_app) {
    disabled = true;
  }
  return el("button", {
    type: "button",
    class: "kb-button",
    text: button.text,
    disabled,
    title: disabled ? "This kind of button is not available in the sandbox" : null,
    onclick,
  });
}

function applyForceReply(messages) {
  const last = messages[messages.length - 1];
  if (!last || last.from !== "bot" || !last.reply_markup || !last.reply_markup.force_reply) return;
  const key = `${state.active}:${last.message_id}`;
  if (state.autoReplied.has(key)) return;
  state.autoReplied.add(key);
  setReplyTo(last);
  if (last.reply_markup.input_field_placeholder) $("message-input").placeholder = last.reply_markup.input_field_placeholder;
}

function setReplyTo(message) {
  state.replyTo = message;
  renderReplyTarget();
  $("message-input").focus();
}

function renderReplyTarget() {
  const box = $("reply-target");
  const message = state.replyTo;
  box.hidden = !message;
  if (!message) return;
  const who = message.from === "bot" ? botName() : "yourself";
  const preview = quotePreview(message).slice(0, 60);
  $("reply-target-text").textContent = `Replying to ${who}: ${preview}`;
}

// ---- the bot's command menu -----------------------------------------------------------------

function profileCommands() {
  return (state.profile && state.profile.commands) || [];
}

function renderMenuButton() {
  const button = $("menu-button");
  const menuButton = state.profile && state.profile.menu_button;
  const webApp = Boolean(menuButton && menuButton.type === "web_app");
  button.hidden = !(webApp || profileCommands().length > 0);
  button.disabled = webApp;
  button.title = webApp ? "Web apps are not available in the sandbox" : "The bot's commands";
  button.querySelector(".menu-label").textContent = webApp ? menuButton.text || "Menu" : "Menu";
  if (webApp || profileCommands().length === 0) closeCommandMenu();
}

function openCommandMenu(prefix = "") {
  const menu = $("command-menu");
  const commands = profileCommands().filter((c) => c.command.startsWith(prefix));
  if (commands.length === 0) {
    closeCommandMenu();
    return;
  }
  menu.dataset.prefix = prefix;
  state.menuActive = -1;
  $("message-input").removeAttribute("aria-activedescendant");
  menu.replaceChildren(
    ...commands.map((command, index) =>
      el(
        "button",
        {
          type: "button",
          role: "menuitem",
          class: "command-item",
          id: `command-item-${index}`,
          tabindex: "-1",
          "data-command": command.command,
          onclick: () => pickCommand(command.command),
        },
        el("span", { class: "command-name", text: `/${command.command}` }),
        el("span", { class: "command-description", text: command.description }),
      ),
    ),
  );
  menu.hidden = false;
  $("menu-button").setAttribute("aria-expanded", "true");
}

function closeCommandMenu() {
  const menu = $("command-menu");
  if (menu.hidden) return;
  menu.hidden = true;
  menu.replaceChildren();
  state.menuActive = -1;
  $("menu-button").setAttribute("aria-expanded", "false");
  $("message-input").removeAttribute("aria-activedescendant");
}

function moveInCommandMenu(step, focus = false) {
  const items = [...$("command-menu").querySelectorAll(".command-item")];
  if (items.length === 0) return;
  if (state.menuActive < 0) state.menuActive = step > 0 ? 0 : items.length - 1;
  else state.menuActive = (state.menuActive + step + items.length) % items.length;
  items.forEach((item, index) => item.classList.toggle("active", index === state.menuActive));
  const active = items[state.menuActive];
  active.scrollIntoView({ block: "nearest" });
  if (focus) active.focus();
  else $("message-input").setAttribute("aria-activedescendant", active.id);
}

function pickCommand(command) {
  closeCommandMenu();
  const input = $("message-input");
  if (input.value.startsWith("/")) input.value = "";
  input.focus();
  return sendText(`/${command}`);
}

// The menu follows what is typed: "/" lists every command, "/he" those starting with "he".
function commandPrefix(value) {
  const match = /^\/([a-z0-9_]*)$/i.exec(value);
  return match ? match[1].toLowerCase() : null;
}

// ---- actions --------------------------------------------------------------------------------

async function send(payload) {
  const personId = state.active;
  if (personId === null) return;
  const body = { ...payload, wait: true, timeout: SEND_TIMEOUT_SECONDS };
  if (state.replyTo) body.reply_to_message_id = state.replyTo.message_id;
  state.replyTo = null;
  renderReplyTarget();
  state.pending += 1;
  updateStatus();
  // The server unblocks a blocked person as it takes the message, so the page does too, now: the
  // request's answer comes only once the bot has handled the update, and a block made meanwhile stays.
  // A message refused leaves the block as it was, which the people list then shows again.
  const person = state.people.get(personId);
  const unblocks = Boolean(person && person.blocked);
  if (unblocks) {
    person.blocked = false;
    state.peopleWrites += 1;
    renderHeader();
    renderPeople();
  }
  try {
    const result = await api("POST", `/people/${personId}/messages`, body);
    if (!result.handled) toast(`The bot did not handle this within ${SEND_TIMEOUT_SECONDS} s.`);
  } catch (error) {
    toast(`Could not send: ${error.message}`);
    if (unblocks) await refreshPeople();
  } finally {
    state.pending -= 1;
    updateStatus();
  }
}

function sendText(text) {
  const trimmed = text.trim();
  if (!trimmed) return Promise.resolve();
  return send({ text: trimmed });
}

async function pressButton(messageId, data, button) {
  const personId = state.active;
  button.classList.add("pending");
  button.setAttribute("aria-busy", "true");
  state.pending += 1;
  updateStatus();
  try {
    const result = await api("POST", `/people/${personId}/callbacks`, {
      message_id: messageId,
      data,
      wait: true,
      timeout: SEND_TIMEOUT_SECONDS,
    });
    const answer = result.answer;
    if (answer && answer.show_alert && answer.text) showAlert(answer.text);
    else if (answer && (answer.text || answer.url)) toast(answer.text || "The bot sent a link.", answer.url);
    else if (!result.handled) toast(`The bot did not answer within ${SEND_TIMEOUT_SECONDS} s.`);
  } catch (error) {
    toast(`Could not press the button: ${error.message}`);
  } finally {
    button.classList.remove("pending");
    button.removeAttribute("aria-busy");
    state.pending -= 1;
    updateStatus();
  }
}

function readAsBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

async function sendPhoto(file) {
  const data = await readAsBase64(file);
  const input = $("message-input");
  const caption = input.value.trim();
  const payload = { photo: { data, filename: file.name } };
  if (caption) {
    payload.caption = caption;
    input.value = "";
  }
  await send(payload);
}

async function sendDocument(file) {
  const data = await readAsBase64(file);
  const document = { data, filename: file.name };
  if (file.type) document.mime_type = file.type;
  await send({ document });
}

function shareOwnContact() {
  const person = state.people.get(state.active);
  if (!person) return;
  const phone = $("contact-phone").value || "+905551112233";
  return send({ contact: { phone_number: phone, first_name: person.first_name, user_id: person.id } });
}

function openLocationDialog() {
  const dialog = $("location-dialog");
  if (!dialog.open) dialog.showModal();
  $("loc-lat").focus();
}

function openContactDialog() {
  const person = state.people.get(state.active);
  if (person && !$("contact-name").value) $("contact-name").value = person.first_name;
  const dialog = $("contact-dialog");
  if (!dialog.open) dialog.showModal();
  $("contact-phone").focus();
}

async function toggleBlock() {
  const person = state.people.get(state.active);
  if (!person) return;
  try {
    const updated = await api("POST", `/people/${person.id}/block`, { blocked: !person.blocked });
    state.peopleWrites += 1;
    state.people.set(updated.id, updated);
    renderHeader();
    renderPeople();
    toast(updated.blocked ? "You blocked the bot." : "You unblocked the bot.");
  } catch (error) {
    toast(`Could not change the block: ${error.message}`);
  }
}

async function createPerson(form) {
  const fields = new FormData(form);
  const body = { first_name: String(fields.get("first_name")).trim(), language_code: fields.get("language_code") };
  const lastName = String(fields.get("last_name") || "").trim();
  const username = String(fields.get("username") || "").trim();
  if (lastName) body.last_name = lastName;
  if (username) body.username = username;
  if (!body.first_name) return;
  try {
    const person = await api("POST", "/people", body);
    const role = fields.get("role");
    if (role) state.roles[person.id] = role;
    else delete state.roles[person.id];
    saveJson(STORE_ROLES, state.roles);
    state.peopleWrites += 1;
    state.people.set(person.id, person);
    form.reset();
    openChat(person.id);
  } catch (error) {
    toast(`Could not create the person: ${error.message}`);
  }
}

async function resetSandbox() {
  if (!window.confirm("Forget every person, chat and pending update in the sandbox?")) return;
  try {
    await api("POST", "/reset", {});
  } catch (error) {
    toast(`Could not reset: ${error.message}`);
    return;
  }
  state.tabs = [];
  state.roles = {};
  state.chats.clear();
  saveJson(STORE_TABS, state.tabs);
  saveJson(STORE_ROLES, state.roles);
  selectPerson(null);
  await refreshPeople();
}

function setPanelOpen(open) {
  document.body.classList.toggle("panel-open", open);
  $("toggle-people").setAttribute("aria-expanded", open ? "true" : "false");
}

// ---- wiring ---------------------------------------------------------------------------------

function wire() {
  $("new-person").addEventListener("submit", (event) => {
    event.preventDefault();
    createPerson(event.currentTarget);
  });
  $("refresh-people").addEventListener("click", refreshPeople);
  $("reset-sandbox").addEventListener("click", resetSandbox);
  $("toggle-people").addEventListener("click", () => setPanelOpen(!document.body.classList.contains("panel-open")));
  $("block-toggle").addEventListener("click", toggleBlock);
  $("back-to-list").addEventListener("click", backToList);
  $("start-button").addEventListener("click", () => {
    sendText("/start");
    $("message-input").focus();
  });
  $("menu-button").addEventListener("click", async () => {
    if (!$("command-menu").hidden) {
      closeCommandMenu();
      return;
    }
    await refreshProfile();
    openCommandMenu("");
    moveInCommandMenu(1, true);
  });
  $("command-menu").addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      moveInCommandMenu(event.key === "ArrowDown" ? 1 : -1, true);
    } else if (event.key === "Escape") {
      event.preventDefault();
      closeCommandMenu();
      $("message-input").focus();
    }
  });
  document.addEventListener("click", (event) => {
    const inside = event.target.closest && event.target.closest("#command-menu, #menu-button, #message-input");
    if (!inside) closeCommandMenu();
  });
  $("reply-cancel").addEventListener("click", () => {
    state.replyTo = null;
    renderReplyTarget();
  });

  const input = $("message-input");
  $("composer").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value;
    input.value = "";
    closeCommandMenu();
    sendText(text);
    input.focus();
  });
  input.addEventListener("input", () => {
    const prefix = commandPrefix(input.value);
    if (prefix !== null) openCommandMenu(prefix);
    else closeCommandMenu();
  });
  input.addEventListener("keydown", (event) => {
    const menuOpen = !$("command-menu").hidden;
    if (menuOpen && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      moveInCommandMenu(event.key === "ArrowDown" ? 1 : -1);
      return;
    }
    if (menuOpen && event.key === "Escape") {
      event.preventDefault();
      closeCommandMenu();
      return;
    }
    const active = menuOpen ? $("command-menu").querySelector(".command-item.active") : null;
    if (active && event.key === "Tab") {
      event.preventDefault();
      input.value = `/${active.dataset.command}`;
      closeCommandMenu();
      return;
    }
    if (active && event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      pickCommand(active.dataset.command);
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });

  $("photo-button").addEventListener("click", () => $("photo-input").click());
  $("photo-input").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) await sendPhoto(file);
  });
  $("file-button").addEventListener("click", () => $("file-input").click());
  $("file-input").addEventListener("change", async (event) => {
    const file = event.target.files[0];
    event.target.value = "";
    if (file) await sendDocument(file);
  });

  const presets = $("location-presets");
  for (const place of PLACES) {
    presets.append(
      el("button", {
        type: "button",
        text: place.name,
        onclick: () => {
          $("loc-lat").value = place.latitude;
          $("loc-lon").value = place.longitude;
        },
      }),
    );
  }
  $("location-button").addEventListener("click", openLocationDialog);
  $("location-dialog").addEventListener("close", () => {
    if ($("location-dialog").returnValue !== "send") return;
    const latitude = Number($("loc-lat").value);
    const longitude = Number($("loc-lon").value);
    if (Number.isFinite(latitude) && Number.isFinite(longitude)) send({ location: { latitude, longitude } });
  });

  $("contact-button").addEventListener("click", openContactDialog);
  $("contact-dialog").addEventListener("close", () => {
    if ($("contact-dialog").returnValue !== "send") return;
    const person = state.people.get(state.active);
    const contact = { phone_number: $("contact-phone").value.trim() };
    const name = $("contact-name").value.trim();
    if (name) contact.first_name = name;
    if ($("contact-own").checked && person) contact.user_id = person.id;
    if (contact.phone_number) send({ contact });
  });

  const stickers = $("sticker-panel");
  for (const emoji of STICKERS) {
    stickers.append(
      el("button", {
        type: "button",
        class: "sticker-choice",
        "aria-label": `Send sticker ${emoji}`,
        text: emoji,
        onclick: () => {
          stickers.hidden = true;
          $("sticker-button").setAttribute("aria-expanded", "false");
          send({ sticker: { emoji } });
        },
      }),
    );
  }
  $("sticker-button").addEventListener("click", () => {
    stickers.hidden = !stickers.hidden;
    $("sticker-button").setAttribute("aria-expanded", stickers.hidden ? "false" : "true");
  });

  $("keyboard-toggle").addEventListener("click", () => {
    state.keyboardShown = !state.keyboardShown;
    const chat = state.chats.get(state.active);
    if (chat) renderReplyKeyboard(chat);
    $("reply-keyboard").hidden = !state.keyboardShown;
    $("keyboard-toggle").setAttribute("aria-pressed", state.keyboardShown ? "true" : "false");
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && $("alert-dialog").open) {
      closeAlert();
      return;
    }
    if (event.key === "Escape" && !$("sticker-panel").hidden) {
      $("sticker-panel").hidden = true;
      $("sticker-button").setAttribute("aria-expanded", "false");
      $("sticker-button").focus();
    }
  });
}

async function main() {
  setView("list");
  wire();
  await refreshBot();
  await refreshPeople();
  if (state.tabs.length > 0) selectPerson(state.tabs[state.tabs.length - 1]);
  else renderHeader();
  setInterval(refreshPeople, 15000);
}

main();
