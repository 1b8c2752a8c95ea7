// JobProcessor console: the small layer of behaviour on top of server-rendered pages.
// Every page works without it (plain forms and links); this adds the select-user
// dialog, the delete confirmation, buttons enabled by selection, refresh without
// reloading the page, and live updates the person switches on.

const csrf = document.body.dataset.csrf || "";

/** Show times in the reader's own time zone (the server writes UTC). */
function localizeTimes(root) {
  const full = new Intl.DateTimeFormat(undefined, {
    day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
  const clock = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });
  for (const el of root.querySelectorAll("time[datetime]")) {
    const when = new Date(el.getAttribute("datetime"));
    if (Number.isNaN(when.getTime())) continue;
    el.title = el.getAttribute("datetime");
    el.textContent = el.closest("table.entries") ? clock.format(when) : full.format(when);
  }
}

/** Submit a filter form as soon as one of its controls changes. */
function autoSubmit(root) {
  for (const control of root.querySelectorAll("[data-autosubmit]")) {
    control.addEventListener("change", () => control.form.requestSubmit());
  }
}

function say(message, isError = false) {
  const outcome = document.getElementById("outcome");
  if (!outcome) return;
  outcome.textContent = message;
  outcome.classList.toggle("error", isError);
  outcome.hidden = false;
}

// -- the job list -------------------------------------------------------------

const table = document.getElementById("job-table");
const actions = document.getElementById("actions");

function selectedRows() {
  return [...document.querySelectorAll('#job-table input[name="ids"]:checked')].map((box) =>
    box.closest("tr"),
  );
}

/** Enable each action only when it applies to something selected; count the selection. */
function updateSelection() {
  if (!table || !actions) return;
  const rows = selectedRows();
  for (const row of table.querySelectorAll("tbody tr")) {
    row.classList.toggle("selected", rows.includes(row));
  }
  for (const button of actions.querySelectorAll("button[data-applies]")) {
    button.disabled = !rows.some((row) => row.dataset.group === button.dataset.applies);
  }
  const count = document.getElementById("selection-count");
  if (count) count.textContent = rows.length ? `${rows.length} selected` : "";
  const all = document.getElementById("select-all");
  const boxes = table.querySelectorAll('input[name="ids"]');
  if (all) {
    all.checked = boxes.length > 0 && rows.length === boxes.length;
    all.indeterminate = rows.length > 0 && rows.length < boxes.length;
  }
}

/** Fetch the list again and swap it in, keeping the selection and the scroll position. */
let refreshes = 0;

async function refreshTable() {
  if (!table) return;
  const ticket = ++refreshes;
  const response = await fetch(table.dataset.url, { headers: { Accept: "text/html" } });
  if (response.redirected || !response.ok) {
    window.location.reload(); // signed out, or the page's filters are no longer valid
    return;
  }
  const html = await response.text();
  if (ticket !== refreshes) return; // a later refresh was asked for: its answer wins
  // The selection as it is now, not as it was when the fetch began: the person may
  // have ticked or cleared a box meanwhile (live updates refresh every second).
  const keep = new Set(selectedRows().map((row) => row.dataset.id));
  const scroll = window.scrollY;
  table.innerHTML = html;
  for (const box of table.querySelectorAll('input[name="ids"]')) {
    box.checked = keep.has(box.value);
  }
  localizeTimes(table);
  updateSelection();
  window.scrollTo(0, scroll);
}

if (table) {
  table.addEventListener("change", (event) => {
    if (event.target.id === "select-all") {
      for (const box of table.querySelectorAll('input[name="ids"]')) box.checked = event.target.checked;
    }
    updateSelection();
  });
  if (table.dataset.live === "on" && "EventSource" in window) {
    const events = new EventSource(table.dataset.events);
    events.addEventListener("change", () => refreshTable());
  }
}

// -- actions (list and report page) ---------------------------------------------

function confirmDelete(count) {
  const dialog = document.getElementById("confirm-dialog");
  if (!dialog) return Promise.resolve(window.confirm(`Delete ${count} job(s)? This cannot be undone.`));
  document.getElementById("confirm-text").textContent =
    `${count} job${count === 1 ? "" : "s"} will be deleted with ${count === 1 ? "its" : "their"} ` +
    "report and files. This cannot be undone.";
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) =>
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true }),
  );
}

if (actions) {
  actions.addEventListener("submit", async (event) => {
    const button = event.submitter;
    if (!button || !button.value) return; // let anything else submit normally
    event.preventDefault();
    const single = actions.dataset.single;
    const ids = single ? [single] : selectedRows().map((row) => row.dataset.id);
    if (!ids.length) {
      say("Select one or more jobs first.");
      return;
    }
    if (button.value === "delete" && !(await confirmDelete(ids.length))) return;
    const body = new URLSearchParams({ csrf_token: csrf, action: button.value, confirmed: "true" });
    for (const id of ids) body.append("ids", id);
    button.disabled = true;
    try {
      const response = await fetch("/jobs/actions", {
        method: "POST",
        body,
        headers: { Accept: "application/json", "X-CSRF-Token": csrf },
      });
      const answer = await response.json();
      if (!response.ok) {
        say(answer.error ? answer.error.message : `The action failed (${response.status}).`, true);
        return;
      }
      say(answer.message, answer.results.some((result) => !result.ok));
      if (single) {
        const restarted = answer.results.find((r) => r.ok && button.value === "restart");
        const deleted = answer.results.some((r) => r.ok && button.value === "delete");
        if (deleted) window.location.assign("/");
        else if (restarted) window.location.assign(`/jobs/${restarted.job.id}`);
        else window.setTimeout(() => window.location.reload(), 600);
        return;
      }
      await refreshTable();
    } catch (error) {
      say(`The action could not be sent: ${error.message}`, true);
    } finally {
      button.disabled = false;
      updateSelection();
    }
  });
}

const refresh = document.getElementById("refresh");
if (refresh && table) {
  refresh.addEventListener("click", (event) => {
    event.preventDefault();
    refreshTable();
  });
}

// -- the select-user dialog ------------------------------------------------------

const userDialog = document.getElementById("user-dialog");
const pickUser = document.getElementById("pick-user");
if (userDialog && pickUser) {
  const search = document.getElementById("user-search");
  const options = [...userDialog.querySelectorAll(".user-list label[data-search]")];
  const none = userDialog.querySelector(".user-list .none");
  const filterUsers = () => {
    const words = search.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const option of options) {
      const match = words.every((word) => option.dataset.search.includes(word));
      option.hidden = !match;
      shown += match ? 1 : 0;
    }
    none.hidden = shown > 0;
  };
  search.addEventListener("input", filterUsers);
  search.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      // Enter in the search box picks the only match, or the first one.
      event.preventDefault();
      const first = options.find((option) => !option.hidden);
      if (first) first.querySelector("input").checked = true;
      userDialog.querySelector("button[value=ok]").click();
    }
  });
  pickUser.addEventListener("click", () => {
    search.value = "";
    filterUsers();
    userDialog.returnValue = "";
    userDialog.showModal();
    search.focus();
  });
  userDialog.addEventListener("close", () => {
    if (userDialog.returnValue !== "ok") return;
    const picked = userDialog.querySelector('input[name="picked-user"]:checked');
    const url = new URL(window.location.href);
    url.searchParams.delete("cursor");
    url.searchParams.delete("done");
    url.searchParams.delete("sig");
    if (picked && picked.value) url.searchParams.set("user", picked.value);
    else url.searchParams.delete("user");
    window.location.assign(url);
  });
}

// -- live updates of a report page ----------------------------------------------

const liveReport = document.getElementById("live-report");
if (liveReport && "EventSource" in window) {
  const key = `jobprocessor-live-${liveReport.dataset.events}`;
  let events = null;
  const follow = (on) => {
    if (events) events.close();
    events = null;
    if (on) {
      sessionStorage.setItem(key, "1");
      let first = true;
      events = new EventSource(liveReport.dataset.events);
      events.addEventListener("change", () => {
        if (!first) window.location.reload(); // the first event describes the page as loaded
        first = false;
      });
      // The job was deleted: show that, rather than reconnecting to hear it again.
      events.addEventListener("gone", () => {
        events.close();
        window.location.reload();
      });
    } else {
      sessionStorage.removeItem(key);
    }
  };
  liveReport.checked = sessionStorage.getItem(key) === "1";
  follow(liveReport.checked);
  liveReport.addEventListener("change", () => follow(liveReport.checked));
}

localizeTimes(document);
autoSubmit(document);
updateSelection();
