"""The status page and the team page on a phone (390 x 844) and a desktop (1366 x 900), in headless
Chromium (issue 29): no sideways scrolling, the buttons reachable and working, the pages' tables
as cards on the phone, and what WCAG 2.2 AA asks of them that a browser can check: every header
cell's scope, every table's caption, link names that say where they go, the page's language, an
icon, text contrast of at least 4.5:1 (acknowledged rows too), a visible focus, and a failed
request said next to its button.

With CASEWATCH_SCREENSHOTS=dir the test saves both pages at both widths there
(CASEWATCH_SCREENSHOTS=docs/screenshots makes the pictures docs/messages.md shows)."""
import os
import time
import unittest

from harness import Deployment, chromium, request
from test_front_door import basic, hash_password

CONFIG = """
rule_files = ["rules/*.toml"]
[server]
listen = "127.0.0.1:9797"
auth_token_file = "api-token"
users_file = "users.toml"
[engine]
timezone = "Europe/London"
evaluation_interval = "1h"
state_dir = "state"
[metrics]
known_label_values = { team = ["Assessment", "Child in Need"] }

[[feed]]
name = "assessments"
path = "data/assessments.csv"
key = "assessment_id"
date_format = "%d/%m/%Y"
[feed.fields]
assessment_id = { column = "Assessment ID" }
child_id = { column = "Child ID", personal = true }
referral_date = { column = "Date of referral", type = "date" }
authorised = { column = "Date authorised", type = "date" }
team = { column = "Team" }
worker = { column = "Worker" }
"""

RULES = {"assessments.toml": """
[[rule]]
name = "assessment_timescale"
kind = "deadline"
feed = "assessments"
start = "referral_date"
done = "authorised"
due_in = "10 working days"
warn_before = "5 working days"
labels = { team = "{{ team }}", worker = "{{ worker }}" }
annotations = { summary = "Assessment {{ assessment_id }} (child {{ child_id }}) is due for authorisation" }

[[rule]]
name = "kpi_re_referral_rate"
kind = "aggregate"
feed = "assessments"
description = \"\"\"
Of the assessments referred, the share not yet authorised, by team. The ceiling is in
[tables.kpi_ceiling].\"\"\"
where = "referral_date <= today()"
group_by = ["team"]
value = "ratio(authorised == null)"
when = "value > 0.2"
export = true
unit = "ratio"
labels = { team = "{{ team }}" }
annotations = { summary = "{{ team }}: {{ round(value * 100, 1) }}% of the assessments referred are not yet authorised" }

[[rule]]
name = "kpi_re_referral_rate_authority"
kind = "aggregate"
feed = "assessments"
description = "kpi_re_referral_rate for the whole authority."
where = "referral_date <= today()"
value = "ratio(authorised == null)"
when = "value > 0.2"
export = true
unit = "ratio"
labels = { team = "All teams" }
annotations = { summary = "{{ round(value * 100, 1) }}% of the assessments referred are not yet authorised" }
"""}

# As of Wednesday 14 June 2017: a busy team (34 open assessments, most overdue, across four
# workers) and a quieter one.
WORKERS = ['"Smith, Jo"', '"Khan, Ali"', '"Evans, Sam"', '"Okafor, Ngozi"']
ROWS = ["A%d,C%d,%02d/05/2017,,Assessment,%s" % (i, i, 2 + (i % 27), WORKERS[i % 4]) for i in range(1, 31)]
ROWS += ["A31,C31,01/06/2017,,Assessment,\"Khan, Ali\"", "A32,C32,05/06/2017,,Assessment,\"Khan, Ali\"",
         "A33,C33,31/05/2017,,Assessment,\"Smith, Jo\"", "A34,C34,07/06/2017,,Assessment,\"Evans, Sam\"",
         "A35,C35,01/06/2017,02/06/2017,Assessment,\"Khan, Ali\"",
         "A36,C36,26/05/2017,,Child in Need,\"Other, Person\""]
DATA = {"assessments.csv": "Assessment ID,Child ID,Date of referral,Date authorised,Team,Worker\n" +
        "".join(r + "\n" for r in ROWS)}

TOKEN = "phone-layout-admin-token"
ALICE = ("alice", "alice's long passphrase")  # a manager

PHONE = (390, 844)
DESKTOP = (1366, 900)
PAGES = (("status", "/"), ("team", "/team?name=Assessment"), ("authority", "/team?name=All%20teams"))

# WCAG 2.x relative luminance and contrast ratio, computed in the page: each element with text of
# its own, its colour against the first opaque background behind it (its own or an ancestor's).
CONTRAST_SCRIPT = """
const root = arguments[0] || document.body;
function rgba(text) {
  const m = text.match(/rgba?\\(([^)]+)\\)/);
  if (!m) return null;
  const p = m[1].split(',').map(Number);
  return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
}
function luminance(c) {
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
  return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
}
function background(element) {
  for (let e = element; e; e = e.parentElement) {
    const c = rgba(getComputedStyle(e).backgroundColor);
    if (c && c.a >= 1) return c;
  }
  return {r: 255, g: 255, b: 255, a: 1};
}
function opacity(element) {
  let o = 1;
  for (let e = element; e; e = e.parentElement) o *= Number(getComputedStyle(e).opacity);
  return o;
}
const out = [];
for (const e of [root, ...root.querySelectorAll('*')]) {
  if (['SCRIPT', 'STYLE', 'svg', 'TITLE'].includes(e.tagName) || e.closest('svg')) continue;
  const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (!own || !e.getClientRects().length) continue;
  const fg = rgba(getComputedStyle(e).color), bg = background(e);
  const a = luminance(fg), b = luminance(bg);
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  out.push({text: e.textContent.trim().slice(0, 40), ratio: ratio, opacity: opacity(e), alpha: fg.a,
            color: getComputedStyle(e).color, background: `rgb(${bg.r}, ${bg.g}, ${bg.b})`});
}
return out;
"""


class PhoneLayoutTest(unittest.TestCase):
    def setUp(self):
        self.d = Deployment(CONFIG, RULES, DATA, token=TOKEN)
        self.d.write("users.toml", '[users.alice]\npassword_hash = "%s"\nrole = "manager"\n' % hash_password(ALICE[1]))
        self.d.start(at="2017-06-14")
        self.addCleanup(self.d.cleanup)

    def browser(self, size):
        driver = chromium(self, basic(*ALICE), window="%d,%d" % size)
        if size == PHONE:  # a headless window is at least 500 px wide: a phone's viewport is emulated
            driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
                "width": size[0], "height": size[1], "deviceScaleFactor": 2, "mobile": True})
        driver.get(self.d.url("/"))
        self.assertEqual(driver.execute_script("return window.innerWidth"), size[0])
        return driver

    def screenshot(self, driver, name):
        folder = os.environ.get("CASEWATCH_SCREENSHOTS")
        if not folder:
            return
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, name)
        driver.save_screenshot(path)
        self.assertGreater(os.path.getsize(path), 1000)

    def wait(self, condition, what, seconds=10):
        deadline = time.monotonic() + seconds
        while not condition():
            if time.monotonic() > deadline:
                self.fail("timed out waiting for " + what)
            time.sleep(0.1)

    def check_page(self, driver, name, width):
        """What holds of either page at either width."""
        from selenium.webdriver.common.by import By

        js = driver.execute_script
        where = "%s page at %d px" % (name, width)
        js("document.querySelectorAll('details').forEach(d => d.open = true)")  # all of it, as if opened
        self.assertLessEqual(js("return document.documentElement.scrollWidth"), js("return window.innerWidth"), where)
        # Nor inside it: no table scrolls sideways in a box of its own.
        boxes = js("return [...document.querySelectorAll('body *')].filter(e => e.clientWidth > 1 && e.scrollWidth > e.clientWidth + 1 &&"
                   " getComputedStyle(e).overflowX != 'visible').map(e => e.tagName + '.' + e.className)")
        self.assertEqual(boxes, [], where)
        self.assertEqual(js("return document.documentElement.lang"), "en-GB", where)
        icon = driver.find_elements(By.CSS_SELECTOR, "link[rel~=icon]")
        self.assertEqual(len(icon), 1, where)
        self.assertTrue(js("return arguments[0].href.startsWith('data:image/svg+xml')", icon[0]), where)
        # Tables: a caption each, a scope on every header cell.
        tables = driver.find_elements(By.TAG_NAME, "table")
        self.assertTrue(tables, where)
        for table in tables:
            self.assertEqual(len(table.find_elements(By.CSS_SELECTOR, ":scope > caption")), 1,
                             (where, table.get_attribute("outerHTML")[:200]))
        for th in driver.find_elements(By.TAG_NAME, "th"):
            self.assertIn(th.get_attribute("scope"), ("col", "row"), (where, th.get_attribute("outerHTML")))
        # Link names: one name, one place; none of "details", "here", "more".
        places = {}
        for link in js("return [...document.querySelectorAll('a[href]')].map(a => [a.textContent.trim(), a.href])"):
            places.setdefault(link[0], set()).add(link[1])
            self.assertNotIn(link[0].lower(), ("", "details", "here", "more", "link"), where)
        self.assertEqual({text: hrefs for text, hrefs in places.items() if len(hrefs) > 1}, {}, where)
        # Text contrast everywhere, at least 4.5:1, none of it faded with opacity.
        low = [c for c in js(CONTRAST_SCRIPT, None) if c["ratio"] < 4.5 or c["opacity"] < 1 or c["alpha"] < 1]
        self.assertEqual(low, [], where)
        # Focus is seen: a focused link or button has an outline (:focus-visible, as from the keyboard).
        for element in (driver.find_elements(By.CSS_SELECTOR, "a[href]")[0], driver.find_elements(By.TAG_NAME, "button")[0]):
            js("arguments[0].focus()", element)
            self.assertEqual(js("return document.activeElement"), element, where)
            self.assertEqual(js("return getComputedStyle(arguments[0]).outlineStyle", element), "solid", where)
            self.assertGreaterEqual(float(js("return getComputedStyle(arguments[0]).outlineWidth", element)[:-2]), 2, where)
        # Buttons within the viewport's width (none in a closed <details> is shown at all).
        shown = js("return [...document.querySelectorAll('button.ack, button.silence')]"
                   ".filter(b => b.getClientRects().length)"
                   ".map(b => { const r = b.getBoundingClientRect(); return [r.left, r.right, b.textContent]; })")
        self.assertTrue(shown, where)
        self.assertTrue(any(b[2] == "Silence 7 days" for b in shown), where)
        for left, right, text in shown:
            self.assertGreaterEqual(left, 0, (where, text))
            self.assertLessEqual(right, width, (where, text))
        # No page-local wording from the configuration or the rule's identifier.
        text = driver.find_element(By.TAG_NAME, "body").text + " ".join(
            js("return [...document.querySelectorAll('[title]')].map(e => e.title)"))
        for jargon in ("[tables.", "Re referral", "1 alerts", "1 rows", "1 days"):
            self.assertNotIn(jargon, text, where)
        self.assertNotRegex(driver.page_source, r">\s*20\d\d-\d\d-\d\d", where)  # dates as dd/mm/yyyy

    def test_both_pages_at_phone_and_desktop_widths(self):
        from selenium.webdriver.common.by import By

        self.assertEqual(request(self.d.url("/favicon.ico")).status, 200)
        heights = {}
        for size in (PHONE, DESKTOP):
            driver = self.browser(size)
            for name, path in PAGES:
                driver.get(self.d.url(path))
                heights[(name, size[0])] = driver.execute_script("return document.documentElement.scrollHeight")
                self.screenshot(driver, "%s-page-%d.png" % (name, size[0]))  # as served, before anything is opened
                self.check_page(driver, name, size[0])
                if size == PHONE:
                    # Cards: the header row hidden, each cell labelled, every card short.
                    cards = driver.find_elements(By.CSS_SELECTOR, "table.alerts tbody tr")
                    self.assertTrue(cards)
                    for card in cards[:12]:
                        if card.is_displayed():
                            self.assertLessEqual(card.size["height"], 120, card.text)
                    cell = driver.find_elements(By.CSS_SELECTOR, "table.alerts tbody td[data-label]:not(.wide)")[0]
                    self.assertEqual(driver.execute_script(
                        "return getComputedStyle(arguments[0], '::before').content", cell),
                        '"%s"' % cell.get_attribute("data-label"))
        # The status page leads with the teams; the feeds and rules are behind a link at the top.
        driver = self.browser(PHONE)
        teams = driver.find_element(By.ID, "teams")
        self.assertLess(teams.location["y"], 400)
        self.assertIn("Assessment", teams.text)
        service = driver.find_element(By.CSS_SELECTOR, "a[href='#service']")
        self.assertLess(service.location["y"], 400)
        self.assertGreater(driver.find_element(By.ID, "service").location["y"],
                           driver.find_element(By.ID, "alerts").location["y"])
        print("\npage heights:", heights)
        self.assertLess(heights[("status", PHONE[0])], 3000)  # a rule's 35 alerts are one line until opened

    def test_acknowledging_on_a_phone_and_a_failed_request(self):
        from selenium.webdriver.common.by import By

        for name, path in PAGES[:2]:
            driver = self.browser(PHONE)
            driver.get(self.d.url(path))
            driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
            buttons = [b for b in driver.find_elements(By.CSS_SELECTOR, "button.ack") if b.is_displayed()]
            # A request that fails (as if its alert had resolved meanwhile): said beside the button,
            # which can be pressed again.
            button = buttons[0]
            row_id = button.find_element(By.XPATH, "./ancestor::tr").get_attribute("id")
            fingerprint = button.get_attribute("data-fingerprint")
            driver.execute_script("arguments[0].dataset.fingerprint = 'gone'", button)
            button.click()
            message = button.find_element(By.XPATH, "./ancestor::td//*[@role='status' or @role='alert']")
            self.wait(lambda: "Could not acknowledge" in message.text, "the failure's message")
            self.assertEqual(message.text, "Could not acknowledge: 404 Not Found (no such alert)")
            self.assertTrue(message.is_displayed())
            self.assertTrue(button.is_enabled())
            self.assertEqual(button.text, "Acknowledge")
            # Pressed again, where it is, without scrolling sideways: acknowledged, the failure gone.
            driver.execute_script("arguments[0].dataset.fingerprint = arguments[1]", button, fingerprint)
            button.click()
            self.wait(lambda: button.text == "acknowledged", "the acknowledgement")
            self.assertEqual(driver.execute_script("return window.scrollX"), 0)
            self.assertEqual(message.text, "")
            # Reloaded: the row says who, and stays readable.
            def reloaded():
                driver.get(self.d.url(path))
                driver.execute_script("document.querySelectorAll('details').forEach(d => d.open = true)")
                return "acknowledged by alice at 14/06/2017" in driver.find_element(By.ID, row_id).text
            self.wait(reloaded, "the acknowledged row after a reload")
            row = driver.find_element(By.ID, row_id)
            self.assertIn("acked", row.get_attribute("class"))
            self.assertNotIn("silenced", row.text)
            contrast = driver.execute_script(CONTRAST_SCRIPT, row)
            self.assertTrue(contrast)
            self.assertEqual([c for c in contrast if c["ratio"] < 4.5 or c["opacity"] < 1], [], name)
            labels = driver.execute_script(CONTRAST_SCRIPT.replace("root.querySelectorAll('*')",
                                                                   "document.querySelectorAll('.sev')"), None)
            self.assertTrue([c for c in labels if c["text"] in ("critical", "warning")])
            self.assertEqual([c for c in labels if c["ratio"] < 4.5], [], name)
            self.check_page(driver, name, PHONE[0])
            if name == "status":
                alert = driver.find_element(By.ID, row_id).find_element(By.CSS_SELECTOR, "a").get_attribute("href")
                driver.get(alert)
                self.assertIn("Acknowledged by alice at ", driver.find_element(By.ID, "history").text)


if __name__ == "__main__":
    unittest.main()
